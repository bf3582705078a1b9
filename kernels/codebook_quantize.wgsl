// codebook_quantize.wgsl: each x / scale (computed as x · inv_scale) snapped to the nearest entry of the sorted levels
// (ties to the lower-index level), then multiplied back by scale (NF4, FP4 and other
// non-uniform grids). One invocation handles 4 consecutive elements, so it writes one whole
// u32 word of 4 packed code bytes.
// CPU reference: lib/ops/ts codebookQuantize() (contract: Ops.codebookQuantize).
//
// Bindings (group 0):
//   0 x          storage, read        x [rows, cols]
//   1 levels     storage, read        levels [num_levels], strictly ascending (num_levels ≤ 256)
//   2 scale      storage, read        scale [param_rows, groups]  (param_rows ∈ {1, rows})
//   3 inv_scale  storage, read        fround(1 / scale) [param_rows, groups], from the host
//   4 values     storage, read_write  levels[code] · scale, f32 [rows, cols]
//   5 codes      storage, read_write  code bytes [rows, cols] packed 4 per u32
//   6 params     uniform              Params
//
// Dispatch: ceil(rows · cols / 4) invocations as a 2-D grid of WG-wide workgroups.
// Numerics: t = x · inv_scale is one correctly rounded f32 product, as on the CPU; binary
// search for the first level ≥ t, then the closer neighbour. The distances are f32 here and
// exact (f64) on the CPU, so a t within an ulp of the midpoint of two levels may pick the
// other level; exact ties go to the lower index on both.

override WG: u32 = 256u;

struct Params {
  rows: u32,
  cols: u32,
  group_size: u32,
  groups: u32,
  param_rows: u32,
  num_levels: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> levels: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> values: array<f32>;
@group(0) @binding(5) var<storage, read_write> codes: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

fn nearest(t: f32) -> u32 {
  var lo = 0u;
  var hi = params.num_levels;
  while (lo < hi) {  // first index with levels[index] >= t
    let mid = (lo + hi) / 2u;
    if (levels[mid] < t) { lo = mid + 1u; } else { hi = mid; }
  }
  if (lo == 0u) { return 0u; }
  if (lo == params.num_levels) { return lo - 1u; }
  return select(lo, lo - 1u, t - levels[lo - 1u] <= levels[lo] - t);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let word = gid.y * nwg.x * WG + gid.x;
  let first = word * 4u;
  if (first >= params.total) { return; }
  var packed = 0u;
  for (var e = 0u; e < 4u; e++) {
    let i = first + e;
    if (i >= params.total) { break; }
    let r = i / params.cols;
    let p = select(0u, r, params.param_rows != 1u) * params.groups + (i % params.cols) / params.group_size;
    let code = nearest(x[i] * inv_scale[p]);
    values[i] = levels[code] * scale[p];
    packed |= code << (8u * e);
  }
  codes[word] = packed;
}
