// SPDX-License-Identifier: MIT
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { DataError, readTextDocuments } from "../../lib/data/mod.ts";
import { saveTable } from "../../lib/tensor/ipc.ts";
import { assertThrowsMessage } from "../_assert.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("txt: the whole file is one document, UTF-8 checked", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.txt`, "first paragraph\n\nsecond — ✓\n");
    const r = await readTextDocuments(`${dir}/a.txt`);
    assert.deepEqual(r, { path: `${dir}/a.txt`, format: "txt", documents: ["first paragraph\n\nsecond — ✓\n"] });
    await Deno.writeFile(`${dir}/bad.txt`, new Uint8Array([0x61, 0xff, 0x62]));
    await assertThrowsMessage(() => readTextDocuments(`${dir}/bad.txt`), DataError, "not valid UTF-8", "bad.txt");
    await Deno.writeTextFile(`${dir}/empty.txt`, "");
    await assertThrowsMessage(() => readTextDocuments(`${dir}/empty.txt`), DataError, "holds no text");
    await assertThrowsMessage(() => readTextDocuments(`${dir}/missing.txt`), DataError, "missing.txt");
    await assertThrowsMessage(() => readTextDocuments(`${dir}/a.csv`), DataError, `unknown extension "csv"`);
  }));

Deno.test("jsonl: one document per line from the text field; errors name the line", () =>
  withDir(async (dir) => {
    const p = `${dir}/c.jsonl`;
    await Deno.writeTextFile(p, '{"text": "one", "id": 1}\r\n\n{"text": "two\\nlines"}\n{"body": "x", "text": ""}\n');
    assert.deepEqual((await readTextDocuments(p)).documents, ["one", "two\nlines", ""]);
    await Deno.writeTextFile(p, '{"body": "one"}\n');
    assert.deepEqual((await readTextDocuments(p, { textColumn: "body" })).documents, ["one"]);
    const cases: [string, string][] = [
      ['{"text": "a"}\n{"text": 5}\n', `line 2 of "${p}": field "text" must be a string, got a number`],
      ['{"text": "a"}\n\n{"txt": "b"}\n', "line 3"],
      ['{"text": "a"}\n{"text": null}\n', "got a null"],
      ['["text"]\n', "line 1"],
      ['{"text": "a"}\n{"text": "b"\n', "Cannot parse line 2"],
    ];
    for (const [text, message] of cases) {
      await Deno.writeTextFile(p, text);
      const e = await assertThrowsMessage(() => readTextDocuments(p), DataError, message) as DataError;
      assert.equal(e.file, p);
      assert.ok(e.line! >= 1);
    }
  }));

Deno.test("arrow: a string column (plain, dictionary, IPC stream); errors list the columns", () =>
  withDir(async (dir) => {
    const texts = ["alpha", "beta gamma", "δ"];
    const plain = new arrow.Table({
      text: arrow.vectorFromArray(texts, new arrow.Utf8()),
      n: arrow.vectorFromArray([1, 2, 3], new arrow.Int32()),
    });
    await saveTable(`${dir}/p.arrow`, plain);
    assert.deepEqual((await readTextDocuments(`${dir}/p.arrow`)).documents, texts);
    await saveTable(`${dir}/d.feather`, { content: texts }); // dictionary-encoded Utf8
    assert.deepEqual((await readTextDocuments(`${dir}/d.feather`, { textColumn: "content" })).documents, texts);
    await Deno.writeFile(`${dir}/s.arrow`, arrow.tableToIPC(plain, "stream")); // Hugging Face datasets caches
    assert.deepEqual((await readTextDocuments(`${dir}/s.arrow`)).documents, texts);
    await assertThrowsMessage(
      () => readTextDocuments(`${dir}/d.feather`),
      DataError,
      `Cannot find text column "text"`,
      "content (Dictionary",
      "--text-column",
    );
    await assertThrowsMessage(
      () => readTextDocuments(`${dir}/p.arrow`, { textColumn: "n" }),
      DataError,
      `column "n"`,
      "string columns are text",
    );
    const withNull = new arrow.Table({ text: arrow.vectorFromArray(["a", null], new arrow.Utf8()) });
    await saveTable(`${dir}/n.ipc`, withNull);
    await assertThrowsMessage(() => readTextDocuments(`${dir}/n.ipc`), DataError, "row 1", "null");
    await Deno.writeFile(`${dir}/junk.arrow`, new TextEncoder().encode("not arrow at all"));
    await assertThrowsMessage(() => readTextDocuments(`${dir}/junk.arrow`), DataError, "as Arrow IPC");
  }));
