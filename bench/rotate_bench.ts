// SPDX-License-Identifier: MIT
/**
 * Rotation benchmarks on the bundled model (or, until its file exists, a random model of the
 * same shape: d 256, 4 layers, 4 heads, FFN 768 = 12·64, vocab 256):
 *
 * - time to rotate the model QuaRot-style (fold norms, R1, R2, fused R4), per backend, with a
 *   randomized-Hadamard R1 (FWHT) and a random-orthogonal R1 (matmul, QR included);
 * - forward-pass throughput in tokens/s of the rotated model with and without its online steps
 *   (R3 on Q/K after RoPE, R4 before down_proj; "without" runs the same rotated weights, so only
 *   the online FWHTs differ), the overhead in % of the forward time without them, and the
 *   original model for reference;
 * - the FWHT itself at the online shapes (R4: `[tokens, 768]` with the stored H₁₂ factor; R3:
 *   `[tokens·heads, 64]`), in GB/s counting one read and one write of f32.
 *
 * Usage: `deno run -A bench/rotate_bench.ts [--quick]` prints a table; `runRotateBench()`
 * returns the rows for an aggregate `deno task bench`.
 *
 * @module
 */
import { benchModel, type BenchRow, timeMs } from "./_util.ts";
import { loadBlasOps } from "../lib/ops/blas/mod.ts";
import { LlamaModel } from "../lib/model/llama.ts";
import { tsOps } from "../lib/ops/ts/mod.ts";
import { hadamardRotation } from "../lib/rotate/hadamard.ts";
import { quarotRotate } from "../lib/rotate/quarot.ts";
import { Tensor } from "../lib/tensor/tensor.ts";
import { Rng } from "../lib/tensor/random.ts";

/**
 * Runs the measurements on ts and (when OpenBLAS loads) blas.
 *
 * @param options `quick`: fewer tokens for the ts forward pass
 * @returns rows `{ backend, op, size, value, unit }`
 */
export async function runRotateBench(options: { quick?: boolean } = {}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const blas = loadBlasOps();
  for (const ops of blas ? [tsOps, blas] : [tsOps]) {
    const { model, label } = await benchModel(ops);
    const c = model.config;
    const add = (op: string, size: string, value: number, unit: string) =>
      rows.push({ backend: ops.name, op, size, value, unit });
    add("quarotRotate, R1 randomized Hadamard", label, await timeMs(() => quarotRotate(model, { seed: 0 })), "ms");
    add(
      "quarotRotate, R1/R2 random orthogonal (QR incl.)",
      label,
      await timeMs(() => quarotRotate(model, { r1: "orthogonal", r2: "orthogonal", seed: 0 }), 2),
      "ms",
    );

    // forward throughput: B sequences of T tokens
    const T = 256, B = ops.name === "ts" ? (options.quick ? 1 : 2) : 8;
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 31 + 7) % c.vocabSize);
    const rotated = await quarotRotate(model, { seed: 0 });
    // Same rotated weights without the online steps (not the same function; the same cost minus
    // R3/R4): the baseline that isolates the online overhead from weight-memory effects.
    const bare = new LlamaModel(rotated.config, rotated.weights, ops, "rotated weights, no online steps");
    const variants: [string, LlamaModel][] = [
      ["forward, rotated weights without online steps", bare],
      ["forward, rotated: online R3 + R4", rotated],
      ["forward, rotated: online R4 only", await quarotRotate(model, { seed: 0, r3: false })],
      ["forward, rotated: online R3 only", await quarotRotate(model, { seed: 0, r4: false })],
      ["forward, original model", model],
    ];
    // interleaved rounds, so load from other processes hits every variant alike
    const rounds = ops.name === "ts" ? 3 : 7;
    const times = variants.map(() => [] as number[]);
    for (const [, m] of variants) await m.forward(ids, T); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const [i, [, m]] of variants.entries()) {
        const t0 = performance.now();
        await m.forward(ids, T);
        times[i]!.push(performance.now() - t0);
      }
    }
    const tokensPerS = times.map((t) => (B * T) / (t.sort((a, b) => a - b)[Math.floor(t.length / 2)]! / 1000));
    variants.forEach(([op], i) => add(op, `${B}×${T} tokens`, tokensPerS[i] as number, "tokens/s"));
    const base = tokensPerS[0] as number;
    ["online R3 + R4", "online R4", "online R3"].forEach((what, i) => {
      add(
        `${what} overhead`,
        `${B}×${T} tokens`,
        (100 * (base - (tokensPerS[i + 1] as number))) / (tokensPerS[i + 1] as number),
        "% of plain forward time",
      );
    });

    // the FWHT at the online shapes
    const rng = new Rng(1);
    const r4 = hadamardRotation(c.intermediateSize), r3 = hadamardRotation(c.headDim);
    const X4 = new Tensor(
      "f32",
      [B * T, c.intermediateSize],
      Float32Array.from({ length: B * T * c.intermediateSize }, () => rng.normal()),
    );
    const X3 = new Tensor(
      "f32",
      [B * T * c.numHeads, c.headDim],
      Float32Array.from({ length: B * T * c.numHeads * c.headDim }, () => rng.normal()),
    );
    for (const [op, R, X] of [["fwht R4 (H₁₂ ⊗ H₆₄)", r4, X4], ["fwht R3 (H₆₄)", r3, X3]] as const) {
      const ms = await timeMs(() => R.apply(X, ops));
      add(op, `[${X.shape.join(", ")}]`, (2 * 4 * X.size) / (ms / 1000) / 1e9, "GB/s");
    }
  }
  return rows;
}

if (import.meta.main) {
  console.table(await runRotateBench({ quick: Deno.args.includes("--quick") }));
}

export type { BenchRow };
