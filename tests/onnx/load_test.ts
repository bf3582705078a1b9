// SPDX-License-Identifier: MIT
/** ONNX import: round trips, external data, and clear errors for damaged files. */
import assert from "node:assert/strict";
import { assertThrowsMessage } from "../_assert.ts";
import {
  cloneModel,
  loadOnnx,
  OnnxExternalDataError,
  OnnxFormatError,
  opsetVersion,
  parseOnnx,
  serializeOnnx,
} from "../../lib/onnx/load.ts";
import { floatTensorFromProto } from "../../lib/onnx/tensor_proto.ts";
import { openSession } from "../../lib/onnx/session.ts";
import { externalDataModel, mlpModel, randomInput } from "./_graphs.ts";

Deno.test("parseOnnx/serializeOnnx round trip keeps graph, weights and outputs", async () => {
  const m = mlpModel();
  const again = parseOnnx(serializeOnnx(m), { source: "again" });
  assert.equal(again.graph.node.length, m.graph.node.length);
  assert.deepEqual(again.graph.node.map((n) => n.opType), ["MatMul", "Relu", "Constant", "MatMul", "Gemm"]);
  assert.equal(opsetVersion(again), 17);
  const a = floatTensorFromProto(m.graph.initializer[0]!), b = floatTensorFromProto(again.graph.initializer[0]!);
  assert.deepEqual(b.shape, [24, 48]);
  assert.deepEqual(b.data, a.data);
  const x = { x: randomInput([5, 24], 3) };
  const s1 = await openSession(m), s2 = await openSession(again);
  try {
    assert.deepEqual((await s2.run(x)).get("y")!.data, (await s1.run(x)).get("y")!.data);
  } finally {
    await s1.release();
    await s2.release();
  }
});

Deno.test("cloneModel edits do not leak into the original", () => {
  const m = mlpModel();
  const c = cloneModel(m);
  c.graph.node.pop();
  c.graph.initializer.pop();
  c.proto.opsetImport[0]!.version = 21;
  assert.equal(m.graph.node.length, 5);
  assert.equal(m.graph.initializer.length, 3);
  assert.equal(opsetVersion(m), 17);
});

Deno.test("parseOnnx rejects empty, non-ONNX and truncated bytes with the source named", async () => {
  await assertThrowsMessage(
    () => parseOnnx(new Uint8Array(0), { source: "empty.onnx" }),
    OnnxFormatError,
    "empty.onnx",
    "empty",
  );
  const text = new TextEncoder().encode("this is not a protobuf, just some text\n");
  await assertThrowsMessage(() => parseOnnx(text, { source: "notes.txt" }), OnnxFormatError, "notes.txt", "ONNX");
  const bytes = serializeOnnx(mlpModel());
  for (const cut of [bytes.length >> 1, bytes.length - 7, 40]) {
    await assertThrowsMessage(
      () => parseOnnx(bytes.subarray(0, cut), { source: "cut.onnx" }),
      OnnxFormatError,
      "cut.onnx",
    );
  }
});

Deno.test("parseOnnx rejects a graph that reads an undefined value", async () => {
  const m = mlpModel();
  m.graph.node = m.graph.node.filter((n) => n.opType !== "Relu");
  await assertThrowsMessage(
    () => parseOnnx(serializeOnnx(m), { source: "broken.onnx" }),
    OnnxFormatError,
    "mm2",
    '"a1"',
  );
});

Deno.test("external data: rejected clearly from bytes, read from the file beside the model", async () => {
  const { model, data } = externalDataModel("weights.bin");
  const bytes = serializeOnnx(model);
  await assertThrowsMessage(
    () => parseOnnx(bytes, { source: "ext.onnx" }),
    OnnxFormatError,
    "W1",
    "weights.bin",
    "loadOnnx",
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/model.onnx`, bytes);
    await assertThrowsMessage(() => loadOnnx(`${dir}/model.onnx`), OnnxFormatError, "weights.bin", "missing");
    await Deno.writeFile(`${dir}/weights.bin`, data.subarray(0, 100));
    await assertThrowsMessage(() => loadOnnx(`${dir}/model.onnx`), OnnxFormatError, "truncated");
    await Deno.writeFile(`${dir}/weights.bin`, data);
    const m = await loadOnnx(`${dir}/model.onnx`);
    const w1 = m.graph.initializer.find((t) => t.name === "W1")!;
    assert.equal(w1.dataLocation, 0);
    assert.deepEqual(new Uint8Array(w1.rawData!), new Uint8Array(data));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOnnx names a missing file", async () => {
  await assertThrowsMessage(() => loadOnnx("/nonexistent/model.onnx"), Error, "/nonexistent/model.onnx");
});

/** Writes model.onnx whose W1 lives at `location` (with `offset`/`length` overrides) into a fresh dir/model. */
async function externalCase(
  location: string,
  fn: (dir: string, model: string, data: Uint8Array) => Promise<void>,
  entries: Record<string, string> = {},
): Promise<void> {
  const { model, data } = externalDataModel(location);
  const w1 = model.graph!.initializer.find((t) => t.name === "W1")!;
  w1.externalData = w1.externalData!.map((e) => ({ key: e.key, value: entries[e.key] ?? e.value }));
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/model`);
    await Deno.writeFile(`${root}/model/model.onnx`, serializeOnnx(model));
    await fn(root, `${root}/model/model.onnx`, data);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("external data outside the model's directory is rejected, never read", async () => {
  // ../../etc/hostname and a sibling file one level up.
  await externalCase("../../../../../../etc/hostname", async (_root, model) => {
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "W1", "outside the model's directory");
  });
  await externalCase("../secret.bin", async (root, model, data) => {
    await Deno.writeFile(`${root}/secret.bin`, data);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "../secret.bin", "outside");
  });
  // Absolute paths, including a device file.
  for (const location of ["/etc/hostname", "/dev/zero"]) {
    await externalCase(location, async (_root, model) => {
      await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, location, "relative path");
    });
  }
});

Deno.test("external data through a symlink escaping the directory, or at a non-regular file, is rejected", async () => {
  await externalCase("w.bin", async (root, model, data) => {
    await Deno.writeFile(`${root}/outside.bin`, data);
    await Deno.symlink(`${root}/outside.bin`, `${root}/model/w.bin`);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "outside.bin", "outside");
  });
  await externalCase("zero", async (root, model) => {
    await Deno.symlink("/dev/zero", `${root}/model/zero`);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "/dev/zero", "outside");
  });
  await externalCase("sub", async (root, model) => {
    await Deno.mkdir(`${root}/model/sub`);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "not a regular file");
  });
  // A FIFO inside the directory would block a read forever: it is not a regular file either.
  await externalCase("pipe", async (root, model) => {
    const made = await new Deno.Command("mkfifo", { args: [`${root}/model/pipe`] }).output();
    assert.ok(made.success);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "not a regular file");
  });
  // A symlink that stays inside is fine.
  await externalCase("w.bin", async (root, model, data) => {
    await Deno.mkdir(`${root}/model/blobs`);
    await Deno.writeFile(`${root}/model/blobs/real.bin`, data);
    await Deno.symlink(`${root}/model/blobs/real.bin`, `${root}/model/w.bin`);
    const m = await loadOnnx(model);
    assert.deepEqual(new Uint8Array(m.graph.initializer.find((t) => t.name === "W1")!.rawData!), new Uint8Array(data));
  });
});

Deno.test("external data past the end of its file, mis-sized or over the limit is rejected", async () => {
  await externalCase("w.bin", async (root, model, data) => {
    await Deno.writeFile(`${root}/model/w.bin`, data);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, `${data.length} bytes`, "truncated");
  }, { offset: "8" });
  await externalCase("w.bin", async (root, model, data) => {
    await Deno.writeFile(`${root}/model/w.bin`, data);
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "offset", "not a byte count");
  }, { offset: "-8" });
  await externalCase("w.bin", async (root, model, data) => {
    await Deno.writeFile(`${root}/model/w.bin`, new Uint8Array(2 * data.length));
    await assertThrowsMessage(() => loadOnnx(model), OnnxExternalDataError, "[24, 48] need 4608 bytes", "9216");
  }, { length: String(2 * 4608) });
  await externalCase("w.bin", async (root, model, data) => {
    await Deno.writeFile(`${root}/model/w.bin`, data);
    await assertThrowsMessage(
      () => loadOnnx(model, { maxExternalBytes: 4096 }),
      OnnxExternalDataError,
      "limit of 4096 bytes",
      "maxExternalBytes",
    );
    const m = await loadOnnx(model, { maxExternalBytes: data.length });
    assert.equal(m.graph.initializer.find((t) => t.name === "W1")!.rawData!.length, data.length);
  });
});

Deno.test("serializeOnnx returns a plain Uint8Array whose slice() is a copy", () => {
  const bytes = serializeOnnx(mlpModel());
  const copy = bytes.slice();
  copy[0] = (copy[0]! + 1) & 0xff;
  assert.notEqual(bytes[0], copy[0]);
  assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
});
