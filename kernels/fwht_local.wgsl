// fwht_local.wgsl: the in-workgroup-memory part of the fast Walsh–Hadamard transform along
// the rows of x [rows, n], n = m · p, p = 2^k, H_n = H_m ⊗ H_p:
//   y[a·p + b] = scale · Σ_{a', b'} Hm[a, a'] · H_p[b, b'] · signs[a'·p + b'] · x[a'·p + b']
// with Sylvester H_p[b, b'] = (−1)^popcount(b & b'). A workgroup loads block contiguous
// elements of one row (signs applied), runs the butterflies over the low log2(span) index bits,
// and then either writes the block scaled (later passes: fwht_global.wgsl for the high bits
// of p, fwht_kron.wgsl for Hm), or, when the block is the whole row and fuse_kron = 1,
// applies Hm from workgroup memory and writes the finished row.
// CPU reference: lib/ops/ts fwht() (contract: Ops.fwht in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 x       storage, read        x [rows, n]
//   1 signs   storage, read        signs [n] (±1; ignored when use_signs = 0)
//   2 hm      storage, read        Hm [m, m] (ignored unless fuse_kron = 1)
//   3 y       storage, read_write  y [rows, n]
//   4 params  uniform              Params
//
// Dispatch: rows · (n / block) workgroups as a 2-D grid, workgroup WG; block ≤ BLOCK
// (the workgroup array) and span divides block (span = min(p, block), both powers of two
// times m's factor as chosen by the host).
// Numerics: f32 butterflies (a + b, a − b), scale applied once at the end; the summation
// order differs from a dense product, so results agree to ~log2(n) ulp of the row norm.

override WG: u32 = 256u;
override BLOCK: u32 = 4096u;

struct Params {
  rows: u32,
  n: u32,
  p: u32,
  m: u32,
  block: u32,
  blocks_per_row: u32,
  span: u32,
  use_signs: u32,
  fuse_kron: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> signs: array<f32>;
@group(0) @binding(2) var<storage, read> hm: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> sh: array<f32, BLOCK>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let work = wid.y * nwg.x + wid.x;
  if (work >= params.rows * params.blocks_per_row) { return; }
  let row_base = (work / params.blocks_per_row) * params.n;
  let base = (work % params.blocks_per_row) * params.block;
  let block = params.block;
  for (var i = lid; i < block; i += WG) {
    var v = x[row_base + base + i];
    if (params.use_signs != 0u) { v *= signs[base + i]; }
    sh[i] = v;
  }
  workgroupBarrier();
  // Butterfly on index bit log2(h): pairs (i, i + h) with bit h of i clear.
  for (var h = 1u; h < params.span; h *= 2u) {
    for (var t = lid; t < block / 2u; t += WG) {
      let i = (t / h) * 2u * h + t % h;
      let a = sh[i];
      let b = sh[i + h];
      sh[i] = a + b;
      sh[i + h] = a - b;
    }
    workgroupBarrier();
  }
  if (params.fuse_kron != 0u) {
    let m = params.m;
    let p = params.p;
    for (var i = lid; i < block; i += WG) {
      let a = i / p;
      let b = i % p;
      var acc = 0.0;
      for (var a2 = 0u; a2 < m; a2++) { acc += hm[a * m + a2] * sh[a2 * p + b]; }
      y[row_base + i] = acc * params.scale;
    }
  } else {
    for (var i = lid; i < block; i += WG) { y[row_base + base + i] = sh[i] * params.scale; }
  }
}
