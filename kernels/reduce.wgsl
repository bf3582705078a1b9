// reduce.wgsl: min / max / absmax / sum / sumsq / mean / std over segments of a 2-D tensor.
// A segment is a row ("rows"), a column ("cols"), a contiguous group of a row ({groupSize})
// or the whole tensor ("all"); element i of segment s is src[s·outer_stride + i·inner_stride].
// Long segments are split into chunks pieces: a first pass writes one partial state per
// piece, a second pass (from_states = 1) merges them.
// CPU reference: lib/ops/ts reduce() (contract: Ops.reduce in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 src    storage, read        x [rows, cols], or states [segments, seg_len, 3] when from_states = 1
//   1 dst    storage, read_write  result [segments] when finalize = 1, else states [segments, chunks, 3]
//   2 params uniform              Params
//
// Dispatch: segments · chunks workgroups as a 2-D grid (linear id = wid.y · nwg.x + wid.x),
// workgroup WG; each workgroup folds its piece with a stride-WG loop, then a tree in
// workgroup memory.
// Numerics: f32 throughout. A state is (count, a, b): a is the running extreme or sum, and
// for std (count, mean, M2) merged with Chan et al.'s pairwise update, which avoids the
// cancellation of sumsq/n − mean². std is the population deviation sqrt(M2 / count).
// Counts are f32, exact up to 2^24 elements per segment.

override WG: u32 = 256u;

const OP_MIN: u32 = 0u;
const OP_MAX: u32 = 1u;
const OP_ABSMAX: u32 = 2u;
const OP_SUMSQ: u32 = 4u;
const OP_MEAN: u32 = 5u;
const OP_STD: u32 = 6u;

struct Params {
  segments: u32,
  seg_len: u32,
  outer_stride: u32,
  inner_stride: u32,
  op: u32,
  chunk_len: u32,
  chunks: u32,
  from_states: u32,
  finalize: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> sh: array<vec3f, WG>;

fn leaf(v: f32) -> vec3f {
  switch params.op {
    case OP_ABSMAX: { return vec3f(1.0, abs(v), 0.0); }
    case OP_SUMSQ: { return vec3f(1.0, v * v, 0.0); }
    default: { return vec3f(1.0, v, 0.0); }
  }
}

fn combine(s1: vec3f, s2: vec3f) -> vec3f {
  if (s1.x == 0.0) { return s2; }
  if (s2.x == 0.0) { return s1; }
  let n = s1.x + s2.x;
  switch params.op {
    case OP_MIN: { return vec3f(n, min(s1.y, s2.y), 0.0); }
    case OP_MAX, OP_ABSMAX: { return vec3f(n, max(s1.y, s2.y), 0.0); }
    case OP_STD: {
      let delta = s2.y - s1.y;
      return vec3f(n, s1.y + delta * (s2.x / n), s1.z + s2.z + delta * delta * (s1.x * s2.x / n));
    }
    default: { return vec3f(n, s1.y + s2.y, 0.0); }
  }
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let work = wid.y * nwg.x + wid.x;  // = segment · chunks + chunk
  if (work >= params.segments * params.chunks) { return; }
  let seg = work / params.chunks;
  let start = (work % params.chunks) * params.chunk_len;
  let end = min(start + params.chunk_len, params.seg_len);
  var acc = vec3f(0.0);
  for (var i = start + lid; i < end; i += WG) {
    if (params.from_states != 0u) {
      let at = 3u * (seg * params.seg_len + i);
      acc = combine(acc, vec3f(src[at], src[at + 1u], src[at + 2u]));
    } else {
      acc = combine(acc, leaf(src[seg * params.outer_stride + i * params.inner_stride]));
    }
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { sh[lid] = combine(sh[lid], sh[lid + half]); }
    workgroupBarrier();
  }
  if (lid != 0u) { return; }
  let s = sh[0];
  if (params.finalize == 0u) {
    dst[3u * work] = s.x;
    dst[3u * work + 1u] = s.y;
    dst[3u * work + 2u] = s.z;
  } else if (params.op == OP_MEAN) {
    dst[seg] = s.y / s.x;
  } else if (params.op == OP_STD) {
    dst[seg] = sqrt(s.z / s.x);
  } else {
    dst[seg] = s.y;
  }
}
