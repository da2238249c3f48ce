// ConvTranspose2d(k3, s2, p1, op1) for training on Debian's CPU LibTorch. Its native backward
// runs through im2col/col2im with per-sample GEMMs and a slow fill (measured ~10x slower than
// the forward, ~2.5x at the big decoder shapes). A transposed convolution is the adjoint of the
// regular stride-2 convolution with the same weight, so every pass is a oneDNN primitive:
//   y  = conv_transpose(x, w)  = backward-data of conv2d(., w, s2, p1) applied to x
//   gx = conv2d(gy, w, s2, p1)                (a regular forward convolution)
//   gw = backward-weight of conv2d(gy, w, s2, p1) with grad_output x
// At a few output channels (the logits layer) oneDNN's stride-2 convolution over 3 input
// channels is itself slow; there the backward is im2col of gy (cheap at 3 channels) and two
// GEMMs per sample.
#include "nucseg/model/unet.hpp"

namespace nucseg::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const std::vector<int64_t> kStride{2, 2}, kPad{1, 1}, kDilation{1, 1}, kNoOutputPadding{0, 0};
// Up to this many output channels the GEMM backward wins (measured at 3: ~7x the native one).
constexpr int64_t kGemmMaxOutChannels = 16;
// Above it every pass is a oneDNN convolution. An earlier machine had the native operator
// ahead at 272->64; on the 2026-11-29 one (Zen 5, 2 threads) the oneDNN passes took 83 vs 213
// ms at 272->64 from 32x32 (batch 16) and 69 vs 167 ms from 64x64 (batch 4), so no band of
// channel counts stays native any more.
bool gemm_path(const torch::Tensor& w) { return w.size(1) <= kGemmMaxOutChannels; }

torch::Tensor forward_onednn(const torch::Tensor& x, const torch::Tensor& w) {
  // The regular convolution's input shape; only its sizes and layout are read.
  auto like = at::empty({x.size(0), w.size(1), 2 * x.size(2), 2 * x.size(3)},
                        x.options().memory_format(x.suggest_memory_format()));
  return std::get<0>(at::convolution_backward(x, like, w, c10::nullopt, kStride, kPad, kDilation, false,
                                              kNoOutputPadding, 1, {true, false, false}));
}

// im2col(gy, k3, s2, p1) as nine strided copies of the padded gy: (n, C*9, h*w), rows in
// im2col's order (channel, then kernel row, then kernel column). Debian's torch::im2col took
// 65 ms for the logits layer's (16, 3, 128, 128) at batch 16, 2 threads; this takes a few.
torch::Tensor im2col_k3s2(const torch::Tensor& gy, int64_t h, int64_t w) {
  const int64_t n = gy.size(0), c = gy.size(1);
  auto padded = torch::constant_pad_nd(gy, {1, 1, 1, 1});
  auto cols = at::empty({n, c, 9, h, w}, gy.options());
  using torch::indexing::Slice;
  for (int64_t ky = 0; ky < 3; ++ky)
    for (int64_t kx = 0; kx < 3; ++kx)
      cols.select(2, ky * 3 + kx).copy_(padded.index({Slice(), Slice(), Slice(ky, ky + 2 * h, 2), Slice(kx, kx + 2 * w, 2)}));
  return cols.view({n, c * 9, h * w});
}

// gx[n] = W (Cin x Cout*9) . cols[n];  gw = sum_n x[n] (Cin x HW) . cols[n]^T, cols = im2col(gy).
void gemm_backward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& gy, bool want_x, bool want_w,
                   torch::Tensor& gx, torch::Tensor& gw) {
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), wd = x.size(3), k = w.size(1) * 9;
  auto cols = im2col_k3s2(gy, h, wd);  // (n, Cout*9, h*wd)
  auto wm = w.reshape({cin, k});
  if (want_x) {
    gx = at::empty({n, cin, h * wd}, x.options());
    for (int64_t i = 0; i < n; ++i) {
      auto out = gx[i];
      at::mm_out(out, wm, cols[i]);
    }
    gx = gx.view({n, cin, h, wd});
  }
  if (want_w) {
    auto xf = x.contiguous().view({n, cin, h * wd});
    auto acc = at::zeros({cin, k}, w.options());
    for (int64_t i = 0; i < n; ++i) acc.addmm_(xf[i], cols[i].t());
    gw = acc.view_as(w);
  }
}

struct ConvTransposeK3S2 : public torch::autograd::Function<ConvTransposeK3S2> {
  // bf16: the oneDNN passes take bfloat16 copies of x, w and gy and return float32 (float32
  // master weights and activations; only the products are bfloat16, as autocast would do).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, bool bf16) {
    bf16 = bf16 && !gemm_path(w);
    ctx->saved_data["bf16"] = bf16;
    if (bf16) {
      auto xb = x.to(torch::kBFloat16), wb = w.to(torch::kBFloat16);
      ctx->save_for_backward({xb, wb});
      return forward_onednn(xb, wb).to(torch::kFloat32);
    }
    ctx->save_for_backward({x, w});
    // With autograd, at few output channels, the native col2im forward is cheap; the oneDNN
    // one was not (batch 16). Without autograd (inference, batch 1-4) oneDNN measured 13.2 vs
    // 14.1 ms at 160->3, so conv_transpose_k3s2_adjoint takes it there.
    if (gemm_path(w)) return at::conv_transpose2d(x, w, {}, 2, 1, 1);
    return forward_onednn(x, w);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &w = saved[1];
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const torch::Tensor gy = bf16 ? grads[0].to(torch::kBFloat16) : grads[0];
    const bool want_x = ctx->needs_input_grad(0), want_w = ctx->needs_input_grad(1);
    torch::Tensor gx, gw;
    if (gemm_path(w)) {
      gemm_backward(x, w, gy, want_x, want_w, gx, gw);
    } else {
      if (want_x) gx = at::conv2d(gy, w, {}, kStride, kPad);
      if (want_w)
        gw = std::get<1>(at::convolution_backward(x, gy, w, c10::nullopt, kStride, kPad, kDilation, false,
                                                  kNoOutputPadding, 1, {false, true, false}));
      if (bf16) {
        if (gx.defined()) gx = gx.to(torch::kFloat32);
        if (gw.defined()) gw = gw.to(torch::kFloat32);
      }
    }
    return {gx, gw, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor conv_transpose_k3s2_adjoint(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                                          bool bf16_products) {
  const bool needs_grad = torch::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
  if (!needs_grad) {
    // Forward only: oneDNN's backward-data beats the native operator at every decoder shape.
    auto y = forward_onednn(x, w);
    if (bias.defined()) y.add_(bias.view({1, -1, 1, 1}));
    return y;
  }
  auto y = ConvTransposeK3S2::apply(x, w, bf16_products && x.scalar_type() == torch::kFloat32);
  if (bias.defined()) y = y + bias.view({1, -1, 1, 1});
  return y;
}

}  // namespace nucseg::model
