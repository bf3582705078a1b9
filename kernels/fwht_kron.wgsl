// fwht_kron.wgsl: the H_m factor of H_n = H_m ⊗ H_p for rows too long for fwht_local.wgsl:
//   y[a·p + b] = scale · Σ_{a'} Hm[a, a'] · z[a'·p + b]
// where z already holds the H_p transform of each length-p segment.
// CPU reference: lib/ops/ts fwht() (contract: Ops.fwht in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 z       storage, read        z [rows, n], n = m · p
//   1 hm      storage, read        Hm [m, m] (±1)
//   2 y       storage, read_write  y [rows, n]
//   3 params  uniform              Params
//
// Dispatch: rows · n invocations (one per output), 2-D grid of WG-wide workgroups.
// Numerics: f32 sum over a' in increasing order, then one multiply by scale.

override WG: u32 = 256u;

struct Params {
  rows: u32,
  n: u32,
  m: u32,
  p: u32,
  total: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> hm: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.y * nwg.x * WG + gid.x;
  if (o >= params.total) { return; }
  let row_base = (o / params.n) * params.n;
  let i = o % params.n;
  let a = i / params.p;
  let b = i % params.p;
  var acc = 0.0;
  for (var a2 = 0u; a2 < params.m; a2++) {
    acc += hm[a * params.m + a2] * z[row_base + a2 * params.p + b];
  }
  y[o] = acc * params.scale;
}
