// hessian.wgsl: G = XᵀX in f32 for the Hessian accumulation H += alpha · XᵀX. Only tiles on
// or above the diagonal are computed (G is symmetric); the host adds alpha · G into the f64 H,
// mirroring the upper triangle, because WGSL has no f64.
// CPU reference: lib/ops/ts accumulateHessian() (contract: Ops.accumulateHessian).
//
// Bindings (group 0):
//   0 x      storage, read        X [tokens, n]
//   1 g      storage, read_write  G [n, n] (tiles below the diagonal are left untouched)
//   2 params uniform              Params
//
// Dispatch: (ceil(n / TILE), ceil(n / TILE)), workgroup (WG, WG); a workgroup with
// wid.y > wid.x returns at once.
// Numerics: f32 products, f32 accumulation over tokens in increasing order (one call's
// relative error grows like sqrt(tokens)·2⁻²⁴); callers accumulate many calls in f64.

override WG: u32 = 16u;
const R: u32 = 4u;
override TILE: u32 = WG * R;
const TK: u32 = 16u;

struct Params {
  tokens: u32,
  n: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> a_tile: array<f32, TK * TILE>;  // [TK][TILE]: X[t0 + kk, row0 + i]
var<workgroup> b_tile: array<f32, TK * TILE>;  // [TK][TILE]: X[t0 + kk, col0 + j]

fn load_x(t: u32, col: u32) -> f32 {
  if (t >= params.tokens || col >= params.n) { return 0.0; }
  return x[t * params.n + col];
}

@compute @workgroup_size(WG, WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  if (wid.y > wid.x) { return; }  // below the diagonal: the mirror image of tile (x, y)
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let li = lid.y * WG + lid.x;
  var acc: array<f32, 16>;
  for (var t0 = 0u; t0 < params.tokens; t0 += TK) {
    for (var idx = li; idx < TK * TILE; idx += WG * WG) {
      let kk = idx / TILE; let i = idx % TILE;
      a_tile[idx] = load_x(t0 + kk, row0 + i);
      b_tile[idx] = load_x(t0 + kk, col0 + i);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var a_reg: array<f32, 4>;
      var b_reg: array<f32, 4>;
      for (var r = 0u; r < R; r++) {
        a_reg[r] = a_tile[kk * TILE + lid.y + r * WG];
        b_reg[r] = b_tile[kk * TILE + lid.x + r * WG];
      }
      for (var i = 0u; i < R; i++) {
        for (var j = 0u; j < R; j++) {
          acc[i * R + j] += a_reg[i] * b_reg[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < R; i++) {
    let row = row0 + lid.y + i * WG;
    for (var j = 0u; j < R; j++) {
      let col = col0 + lid.x + j * WG;
      if (row < params.n && col < params.n) {
        g[row * params.n + col] = acc[i * R + j];
      }
    }
  }
}
