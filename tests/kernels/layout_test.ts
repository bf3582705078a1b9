// SPDX-License-Identifier: MIT
/**
 * GPU-free checks of the kernels: each wrapper's `Params` layout and binding table match the
 * declarations parsed from its `.wgsl` file, every `.wgsl` has a wrapper and the header the
 * house style asks for, and `kernels/_wgsl.gen.ts` is up to date.
 */
import assert from "node:assert/strict";
import { generateWgslModule } from "../../kernels/_embed_wgsl.ts";
import { CODEBOOK_QUANTIZE_KERNEL } from "../../kernels/codebook_quantize.ts";
import { DEQUANT_MATVEC_KERNEL } from "../../kernels/dequant_matvec.ts";
import { FWHT_GLOBAL_KERNEL, FWHT_KRON_KERNEL, FWHT_LOCAL_KERNEL } from "../../kernels/fwht.ts";
import { GPTQ_BLOCK_KERNEL } from "../../kernels/gptq_block.ts";
import { HESSIAN_KERNEL } from "../../kernels/hessian.ts";
import { HISTOGRAM_KERNEL } from "../../kernels/histogram.ts";
import { MATMUL_KERNEL } from "../../kernels/matmul.ts";
import { PACK_KERNEL } from "../../kernels/pack.ts";
import { QUANTIZE_KERNEL } from "../../kernels/quantize.ts";
import { REDUCE_KERNEL } from "../../kernels/reduce.ts";
import type { KernelSpec } from "../../kernels/runtime/dispatch.ts";
import { defineParams, encodeParams } from "../../kernels/runtime/params.ts";
import { UNPACK_KERNEL } from "../../kernels/unpack.ts";

const KERNELS: readonly KernelSpec[] = [
  CODEBOOK_QUANTIZE_KERNEL,
  DEQUANT_MATVEC_KERNEL,
  FWHT_GLOBAL_KERNEL,
  FWHT_KRON_KERNEL,
  FWHT_LOCAL_KERNEL,
  GPTQ_BLOCK_KERNEL,
  HESSIAN_KERNEL,
  HISTOGRAM_KERNEL,
  MATMUL_KERNEL,
  PACK_KERNEL,
  QUANTIZE_KERNEL,
  REDUCE_KERNEL,
  UNPACK_KERNEL,
];

const KERNELS_DIR = new URL("../../kernels/", import.meta.url);

/** WGSL host-shareable sizes and alignments (WGSL spec, "Alignment and Size"). */
const WGSL_TYPES: Record<string, { size: number; align: number }> = {
  u32: { size: 4, align: 4 },
  i32: { size: 4, align: 4 },
  f32: { size: 4, align: 4 },
  vec2u: { size: 8, align: 8 },
  vec2f: { size: 8, align: 8 },
  vec3u: { size: 12, align: 16 },
  vec3f: { size: 12, align: 16 },
  vec4u: { size: 16, align: 16 },
  vec4f: { size: 16, align: 16 },
};

interface ParsedField {
  name: string;
  type: string;
  offset: number;
}

/** Parses `struct Params { ... }` from WGSL and lays it out by the WGSL rules. */
function parseParamsStruct(code: string): { fields: ParsedField[]; size: number } {
  const body = code.replace(/\/\/.*$/gm, "").match(/struct\s+Params\s*\{([^}]*)\}/)?.[1];
  assert.ok(body !== undefined, "no struct Params");
  const fields: ParsedField[] = [];
  let offset = 0;
  let maxAlign = 1;
  for (const decl of body.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [name, rawType] = decl.split(":").map((s) => s.trim()) as [string, string];
    const type = rawType.replace(/^vec(\d)<(\w)\d+>$/, "vec$1$2");
    const info = WGSL_TYPES[type];
    assert.ok(info !== undefined, `unsupported WGSL type ${rawType}`);
    offset = Math.ceil(offset / info.align) * info.align;
    fields.push({ name, type, offset });
    offset += info.size;
    maxAlign = Math.max(maxAlign, info.align);
  }
  return { fields, size: Math.ceil(offset / maxAlign) * maxAlign };
}

/** Parses the `@group(0) @binding(i) var<...>` declarations into binding kinds. */
function parseBindings(code: string): string[] {
  const kinds: string[] = [];
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<([^>]+)>\s*(\w+)\s*:\s*([^;]+);/g)) {
    const access = (m[2] as string).replace(/\s/g, "");
    const kind = access === "uniform"
      ? "uniform"
      : access === "storage,read"
      ? "read"
      : access === "storage,read_write"
      ? "rw"
      : access;
    if (kind === "uniform") assert.equal((m[4] as string).trim(), "Params", "the uniform must be Params");
    kinds[Number(m[1])] = kind;
  }
  return kinds;
}

Deno.test("each kernel's Params layout matches the struct in its .wgsl", () => {
  for (const k of KERNELS) {
    const parsed = parseParamsStruct(k.code);
    assert.deepEqual(
      k.params.fields.map((f) => [f.name, f.type, f.offset]),
      parsed.fields.map((f) => [f.name, f.type, f.offset]),
      `${k.name}: Params fields`,
    );
    assert.equal(k.params.size, parsed.size, `${k.name}: Params size`);
  }
});

Deno.test("each kernel's binding table matches the declarations in its .wgsl", () => {
  for (const k of KERNELS) {
    assert.deepEqual([...k.bindings], parseBindings(k.code), `${k.name}: bindings`);
  }
});

Deno.test("every .wgsl file has one wrapper, the same source and the house-style header", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(KERNELS_DIR)) if (e.name.endsWith(".wgsl")) files.push(e.name);
  assert.deepEqual(files.sort(), KERNELS.map((k) => `${k.name}.wgsl`).sort());
  for (const k of KERNELS) {
    const text = await Deno.readTextFile(new URL(`${k.name}.wgsl`, KERNELS_DIR));
    assert.equal(k.code, text, `${k.name}: embedded source differs from the file`);
    assert.ok(text.startsWith(`// ${k.name}.wgsl: `), `${k.name}: header must start with the file name`);
    for (const part of ["CPU reference:", "Bindings", "Dispatch", "Numerics"]) {
      assert.ok(text.includes(part), `${k.name}: header lacks "${part}"`);
    }
    assert.equal([...text.matchAll(/@compute/g)].length, 1, `${k.name}: one entry point`);
    assert.ok(/@compute[^]*?fn main\(/.test(text), `${k.name}: the entry point is main`);
  }
});

Deno.test("kernels/_wgsl.gen.ts is up to date (run `deno task wgsl`)", async () => {
  const current = await Deno.readTextFile(new URL("_wgsl.gen.ts", KERNELS_DIR));
  assert.equal(current, await generateWgslModule(KERNELS_DIR));
});

Deno.test("encodeParams() writes little-endian fields at their offsets and rejects bad values", () => {
  const layout = defineParams([["rows", "u32"], ["shift", "i32"], ["maxq", "f32"]]);
  const view = new DataView(encodeParams("k", layout, { rows: 7, shift: -2, maxq: 15 }));
  assert.equal(view.byteLength, 16);
  assert.deepEqual([view.getUint32(0, true), view.getInt32(4, true), view.getFloat32(8, true)], [7, -2, 15]);
  assert.throws(() => encodeParams("k", layout, { rows: -1, shift: 0, maxq: 1 }), RangeError);
  assert.throws(() => encodeParams("k", layout, { rows: 1.5, shift: 0, maxq: 1 }), RangeError);
  assert.throws(() => encodeParams("k", layout, { rows: 1, shift: 0, maxq: NaN }), TypeError);
});
