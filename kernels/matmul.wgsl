// matmul.wgsl: C = op(A) · op(B) in f32, batched, with output tiles staged through workgroup
// memory: a WG×WG workgroup computes a TILE×TILE tile of C (TILE = 4·WG), each invocation a
// 4×4 block of outputs strided by WG (conflict-free reads of the staged tiles).
// CPU reference: lib/ops/ts matmul() (contract: Ops.matmul in lib/ops/ops.ts).
//
// Bindings (group 0):
//   0 a      storage, read        A [batchA, M, K], or [batchA, K, M] when trans_a = 1
//   1 b      storage, read        B [batchB, K, N], or [batchB, N, K] when trans_b = 1
//   2 c      storage, read_write  C [batch, M, N]
//   3 params uniform              Params
// stride_a / stride_b are the batch strides in elements (0 broadcasts a 2-D operand).
//
// Dispatch: (ceil(N / TILE), ceil(M / TILE), batch), workgroup (WG, WG).
// Numerics: f32 products and f32 accumulation in increasing k (the compiler may fuse into
// FMA); elements outside A or B load as 0, so M, N, K need not be multiples of the tile.

override WG: u32 = 16u;          // workgroup edge
const R: u32 = 4u;               // outputs per invocation along each axis
override TILE: u32 = WG * R;     // output tile edge
const TK: u32 = 16u;             // depth of one staged K slice

struct Params {
  m: u32,
  n: u32,
  k: u32,
  trans_a: u32,
  trans_b: u32,
  stride_a: u32,
  stride_b: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> a_tile: array<f32, TK * TILE>;  // [TK][TILE]: a_tile[kk * TILE + i] = op(A)[row0 + i, k0 + kk]
var<workgroup> b_tile: array<f32, TK * TILE>;  // [TK][TILE]: b_tile[kk * TILE + j] = op(B)[k0 + kk, col0 + j]

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
  if (row >= params.m || kk >= params.k) { return 0.0; }
  if (params.trans_a != 0u) { return a[base + kk * params.m + row]; }
  return a[base + row * params.k + kk];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
  if (col >= params.n || kk >= params.k) { return 0.0; }
  if (params.trans_b != 0u) { return b[base + col * params.k + kk]; }
  return b[base + kk * params.n + col];
}

@compute @workgroup_size(WG, WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let a_base = wid.z * params.stride_a;
  let b_base = wid.z * params.stride_b;
  let li = lid.y * WG + lid.x;
  var acc: array<f32, 16>;  // R × R
  for (var k0 = 0u; k0 < params.k; k0 += TK) {
    // Stage the slices; the fastest-moving index follows memory order of each layout.
    for (var idx = li; idx < TK * TILE; idx += WG * WG) {
      if (params.trans_a != 0u) {
        let kk = idx / TILE; let i = idx % TILE;
        a_tile[kk * TILE + i] = load_a(a_base, row0 + i, k0 + kk);
      } else {
        let i = idx / TK; let kk = idx % TK;
        a_tile[kk * TILE + i] = load_a(a_base, row0 + i, k0 + kk);
      }
      if (params.trans_b != 0u) {
        let j = idx / TK; let kk = idx % TK;
        b_tile[kk * TILE + j] = load_b(b_base, k0 + kk, col0 + j);
      } else {
        let kk = idx / TILE; let j = idx % TILE;
        b_tile[kk * TILE + j] = load_b(b_base, k0 + kk, col0 + j);
      }
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
  let c_base = wid.z * params.m * params.n;
  for (var i = 0u; i < R; i++) {
    let row = row0 + lid.y + i * WG;
    for (var j = 0u; j < R; j++) {
      let col = col0 + lid.x + j * WG;
      if (row < params.m && col < params.n) {
        c[c_base + row * params.n + col] = acc[i * R + j];
      }
    }
  }
}
