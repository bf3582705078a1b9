// dequant_matvec.wgsl: y = dequant(W) · x for packed integer weights (W4A16-style: codes are
// expanded in registers, never written out). One workgroup per (row, column of x): its WG
// invocations stride over the row's packed words, then reduce in workgroup memory.
// CPU reference: lib/ops/ts dequantMatvec() (contract: Ops.dequantMatvec in lib/ops/ops.ts).
//
//   y[r, j] = Σ_c scale[r, g(c)] · (q[r, c] − zero[r, g(c)]) · x[c, j],   g(c) = c / group_size
//
// Bindings (group 0):
//   0 words   storage, read        packed W [rows, words_per_row] (see pack.wgsl)
//   1 scale   storage, read        scale [param_rows, groups]  (param_rows ∈ {1, rows})
//   2 zero    storage, read        zero [param_rows, groups]
//   3 x       storage, read        x [cols, n]
//   4 y       storage, read_write  y [rows, n]
//   5 params  uniform              Params
//
// Dispatch: (rows as a 2-D grid) × n workgroups in z, workgroup WG (a power of two).
// Numerics: each weight is dequantized exactly as the CPU does (one f32 product), products
// with x are accumulated in f32 per invocation, then in a tree (the CPU sums in order, in
// f64), so results agree to a few ulp of Σ|w·x|.

override WG: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  n: u32,
  bits: u32,
  per_word: u32,
  words_per_row: u32,
  group_size: u32,
  groups: u32,
  param_rows: u32,
}

@group(0) @binding(0) var<storage, read> words: array<u32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read> zero: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= params.rows) { return; }
  let j = wid.z;
  let mask = (1u << params.bits) - 1u;
  let p_row = select(0u, r, params.param_rows != 1u) * params.groups;
  var acc = 0.0;
  for (var wi = lid; wi < params.words_per_row; wi += WG) {
    let word = words[r * params.words_per_row + wi];
    let c0 = wi * params.per_word;
    let count = min(params.per_word, params.cols - c0);
    for (var i = 0u; i < count; i++) {
      let c = c0 + i;
      let p = p_row + c / params.group_size;
      let q = f32((word >> (i * params.bits)) & mask);
      let w = scale[p] * (q - zero[p]);
      acc += w * x[c * params.n + j];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { partial[lid] += partial[lid + half]; }
    workgroupBarrier();
  }
  if (lid == 0u) { y[r * params.n + j] = partial[0]; }
}
