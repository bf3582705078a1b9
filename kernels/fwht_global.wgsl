// fwht_global.wgsl: one radix-2 butterfly stage of the fast Walsh–Hadamard transform in
// global memory, in place: pairs (i, i + h) of each row with bit h of i clear become
// (a + b, a − b) · scale. Used for the index bits h ≥ block that fwht_local.wgsl cannot reach;
// h < p keeps each pair inside one H_p segment of the row.
// CPU reference: lib/ops/ts fwht() (contract: Ops.fwht in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 y       storage, read_write  y [rows, n], n even
//   1 params  uniform              Params
//
// Dispatch: rows · n / 2 invocations (one per pair), 2-D grid of WG-wide workgroups.
// Numerics: f32; scale is 1 except in the last stage when no Hm factor follows.

override WG: u32 = 256u;

struct Params {
  rows: u32,
  n: u32,
  h: u32,
  total: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = gid.y * nwg.x * WG + gid.x;
  if (pair >= params.total) { return; }
  let half_n = params.n / 2u;
  let t = pair % half_n;
  let h = params.h;
  let i = (pair / half_n) * params.n + (t / h) * 2u * h + t % h;
  let a = y[i];
  let b = y[i + h];
  y[i] = (a + b) * params.scale;
  y[i + h] = (a - b) * params.scale;
}
