// gptq_block.wgsl: one GPTQ block sweep (Frantar et al. 2022, arXiv:2210.17323, Alg. 1, the
// inner loop; IST-DASLab/gptq gptq.py fasterquant). One invocation owns one row of the block
// and walks its B columns in order: quantize column j, record the scaled error, and feed it
// back into the row's remaining columns. Rows are independent, so the sweep is parallel over
// rows; Hinv (the block of the upper Cholesky factor of H⁻¹) is shared by all.
// CPU reference: lib/ops/ts gptqBlock() (contract: Ops.gptqBlock in lib/ops/ops.ts).
//
//   q   = clamp(round(w[r, j] · inv_scale) + zero, 0, maxq)      (codes)
//   Q   = scale · (q − zero)
//   err = (w[r, j] − Q) / Hinv[j, j]
//   w[r, k] −= err · Hinv[j, k]   for k > j   (one rounding: fma)
//
// Bindings (group 0):
//   0 w          storage, read_write  W [rows, B], updated in place (a scratch copy)
//   1 hinv       storage, read        Hinv [B, B]
//   2 scale      storage, read        scale [param_rows]  (param_rows ∈ {1, rows})
//   3 zero       storage, read        zero [param_rows]
//   4 inv_scale  storage, read        fround(1 / scale) [param_rows], from the host
//   5 q_out      storage, read_write  Q [rows, B]
//   6 err        storage, read_write  err [rows, B]
//   7 codes      storage, read_write  codes [rows, B] as bytes packed 4 per u32 (atomic OR into
//                                     a zeroed buffer: neighbouring rows share words)
//   8 params     uniform              Params
//
// Dispatch: one invocation per row, 2-D grid of WG-wide workgroups.
// Numerics: rounding as quantize.wgsl. The CPU computes err and the update in f64 and rounds
// once to f32, i.e. a correctly rounded division and a fused multiply-add; the update here is
// fma(), which real GPUs fuse (bit-identical to the CPU), while lavapipe evaluates it as a
// multiply then an add (measured: 1 row in 2048 gets a code one level off at a near-tie, and
// the error feedback then shifts later columns of that row). WGSL division is within 2.5 ulp
// (exact on lavapipe).

override WG: u32 = 64u;

struct Params {
  rows: u32,
  b: u32,
  param_rows: u32,
  maxq: f32,
}

@group(0) @binding(0) var<storage, read_write> w: array<f32>;
@group(0) @binding(1) var<storage, read> hinv: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero: array<f32>;
@group(0) @binding(4) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(5) var<storage, read_write> q_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> err: array<f32>;
@group(0) @binding(7) var<storage, read_write> codes: array<atomic<u32>>;
@group(0) @binding(8) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.y * nwg.x * WG + gid.x;
  if (r >= params.rows) { return; }
  let p = select(0u, r, params.param_rows != 1u);
  let s = scale[p];
  let z = zero[p];
  let inv = inv_scale[p];
  let bsz = params.b;
  let row = r * bsz;
  for (var j = 0u; j < bsz; j++) {
    let wj = w[row + j];
    let q = clamp(round(wj * inv) + z, 0.0, params.maxq);
    let qv = s * (q - z);
    let e = (wj - qv) / hinv[j * bsz + j];
    q_out[row + j] = qv;
    err[row + j] = e;
    let flat = row + j;
    atomicOr(&codes[flat / 4u], u32(q) << (8u * (flat % 4u)));
    for (var k = j + 1u; k < bsz; k++) {
      w[row + k] = fma(-e, hinv[j * bsz + k], w[row + k]);
    }
  }
}
