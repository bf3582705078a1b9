// histogram.wgsl: counts of x in bins equal bins over [lo, hi]; values outside fall into the
// end bins. Each workgroup counts a contiguous piece of x into a private histogram in
// workgroup memory (when bins ≤ LOCAL_BINS) and adds it to the global one with atomics.
// CPU reference: lib/ops/ts histogram() (contract: Ops.histogram in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 x      storage, read        x [count] (any shape, flattened)
//   1 edges  storage, read        edges [bins + 1]: edges[b] is the smallest f32 in bin ≥ b
//                                 by the CPU's f64 rule (edges[0] = −∞, edges[bins] = +∞)
//   2 hist   storage, read_write  counts [bins] (atomic u32, zero before the dispatch)
//   3 params uniform              Params
//
// Dispatch: ceil(count / per_wg) workgroups as a 2-D grid, workgroup WG.
// Numerics: the f32 estimate clamp(floor((x − lo) · inv_width), 0, bins − 1) is corrected
// against the host's f32 edges (exact comparisons), so every value lands in the bin the
// CPU's f64 rule floor((x − lo) · bins / (hi − lo)) gives. NaN lands in an unspecified bin.

override WG: u32 = 256u;
override LOCAL_BINS: u32 = 2048u;

struct Params {
  count: u32,
  bins: u32,
  lo: f32,
  inv_width: f32,
  use_local: u32,
  per_wg: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> edges: array<f32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> local_hist: array<atomic<u32>, LOCAL_BINS>;

const MAX_FIX_STEPS: u32 = 4u;  // the f32 estimate is off by at most one bin in practice

fn bin_of(v: f32) -> u32 {
  let t = clamp(floor((v - params.lo) * params.inv_width), 0.0, f32(params.bins - 1u));
  var b = min(u32(t), params.bins - 1u);
  for (var step = 0u; step < MAX_FIX_STEPS; step++) {
    if (b + 1u < params.bins && v >= edges[b + 1u]) {
      b++;
    } else if (b > 0u && v < edges[b]) {
      b--;
    } else {
      break;
    }
  }
  return b;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let start = (wid.y * nwg.x + wid.x) * params.per_wg;
  if (start >= params.count) { return; }
  let end = min(start + params.per_wg, params.count);
  if (params.use_local != 0u) {
    for (var b = lid; b < params.bins; b += WG) { atomicStore(&local_hist[b], 0u); }
    workgroupBarrier();
    for (var i = start + lid; i < end; i += WG) { atomicAdd(&local_hist[bin_of(x[i])], 1u); }
    workgroupBarrier();
    for (var b = lid; b < params.bins; b += WG) {
      let n = atomicLoad(&local_hist[b]);
      if (n != 0u) { atomicAdd(&hist[b], n); }
    }
  } else {
    for (var i = start + lid; i < end; i += WG) { atomicAdd(&hist[bin_of(x[i])], 1u); }
  }
}
