// pack.wgsl: packs u8 codes (each < 2^bits) into u32 words, per_word = floor(32 / bits)
// codes per word; code i of a word sits at bit offset i · bits, and codes never straddle
// words (3-bit: 10 codes per word, the top 2 bits are 0). Rows start on a new word.
// CPU reference: lib/ops/ts pack() (contract: Ops.pack in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 codes   storage, read        codes [rows, cols] as bytes packed 4 per u32
//   1 words   storage, read_write  words [rows, words_per_row], words_per_row = ceil(cols / per_word)
//   2 params  uniform              Params
//
// Dispatch: one invocation per output word, 2-D grid of WG-wide workgroups.
// Numerics: exact integer bit manipulation. The host checks that codes fit in bits.

override WG: u32 = 256u;

struct Params {
  rows: u32,
  cols: u32,
  bits: u32,
  per_word: u32,
  words_per_row: u32,
  total_words: u32,
}

@group(0) @binding(0) var<storage, read> codes: array<u32>;
@group(0) @binding(1) var<storage, read_write> words: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

fn code_at(flat: u32) -> u32 {
  return (codes[flat / 4u] >> (8u * (flat % 4u))) & 0xffu;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.y * nwg.x * WG + gid.x;
  if (o >= params.total_words) { return; }
  let r = o / params.words_per_row;
  let c0 = (o % params.words_per_row) * params.per_word;
  let n = min(params.per_word, params.cols - c0);
  var word = 0u;
  for (var i = 0u; i < n; i++) {
    word |= code_at(r * params.cols + c0 + i) << (i * params.bits);
  }
  words[o] = word;
}
