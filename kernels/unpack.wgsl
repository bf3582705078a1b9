// unpack.wgsl: inverse of pack.wgsl, u32 words back to u8 codes. One invocation writes one
// u32 of the output, i.e. 4 consecutive code bytes.
// CPU reference: lib/ops/ts unpack() (contract: Ops.unpack in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 words   storage, read        words [rows, words_per_row]
//   1 codes   storage, read_write  codes [rows, cols] as bytes packed 4 per u32
//   2 params  uniform              Params
//
// Dispatch: ceil(rows · cols / 4) invocations, 2-D grid of WG-wide workgroups.
// Numerics: exact integer bit manipulation.

override WG: u32 = 256u;

struct Params {
  cols: u32,
  bits: u32,
  per_word: u32,
  words_per_row: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> words: array<u32>;
@group(0) @binding(1) var<storage, read_write> codes: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.y * nwg.x * WG + gid.x;
  if (o * 4u >= params.total) { return; }
  let mask = (1u << params.bits) - 1u;
  var out = 0u;
  for (var e = 0u; e < 4u; e++) {
    let flat = o * 4u + e;
    if (flat >= params.total) { break; }
    let r = flat / params.cols;
    let c = flat % params.cols;
    let word = words[r * params.words_per_row + c / params.per_word];
    out |= ((word >> ((c % params.per_word) * params.bits)) & mask) << (8u * e);
  }
  codes[o] = out;
}
