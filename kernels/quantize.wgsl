// quantize.wgsl: integer quantization of a 2-D tensor with per-group parameters, either
// fake-quantized values (mode 0) or u8 codes (mode 1). One invocation handles 4 consecutive
// elements, so in mode 1 it writes one whole u32 word of 4 packed bytes.
// CPU reference: lib/ops/ts fakeQuantize() / quantizeCodes() (contract: lib/ops/ops.ts).
//
//   q = clamp(round(w · inv_scale) + zero, 0, maxq),   ŵ = scale · (q − zero)
//
// Bindings (group 0):
//   0 w          storage, read        w [rows, cols]
//   1 scale      storage, read        scale [param_rows, groups]  (param_rows ∈ {1, rows})
//   2 zero       storage, read        zero [param_rows, groups]
//   3 inv_scale  storage, read        fround(1 / scale) [param_rows, groups], from the host
//   4 dst        storage, read_write  mode 0: ŵ as f32 bits [rows, cols];
//                                     mode 1: codes as bytes [rows, cols] packed 4 per u32
//   5 params     uniform              Params
//
// Dispatch: ceil(rows · cols / 4) invocations as a 2-D grid of WG-wide workgroups.
// Numerics: WGSL round() is ties-to-even, like the CPU's roundHalfEven; w · inv_scale and
// scale · (q − zero) are single correctly rounded f32 products, so results match the CPU
// bit for bit (no division: the inverse is computed once on the host).

override WG: u32 = 256u;

struct Params {
  rows: u32,
  cols: u32,
  group_size: u32,
  groups: u32,
  param_rows: u32,
  maxq: f32,
  mode: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read> zero: array<f32>;
@group(0) @binding(3) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;
@group(0) @binding(5) var<uniform> params: Params;

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
    let q = clamp(round(w[i] * inv_scale[p]) + zero[p], 0.0, params.maxq);
    if (params.mode == 0u) {
      dst[i] = bitcast<u32>(scale[p] * (q - zero[p]));
    } else {
      packed |= u32(q) << (8u * e);
    }
  }
  if (params.mode != 0u) { dst[word] = packed; }
}
