// Facts about the network that code without torch needs (tools, docs, data checks).
#pragma once

#include <array>
#include <string_view>

namespace nucseg::model {

// Input sides must be multiples of this (five stride-2 stages in the encoder).
inline constexpr int input_multiple = 32;

// The encoder taps (Keras layer names of the TensorFlow tutorial), their channels and strides.
struct TapInfo {
  std::string_view keras_layer;
  int channels;
  int stride;
};
inline constexpr std::array<TapInfo, 5> encoder_taps_info{{
    {"block_1_expand_relu", 96, 2},
    {"block_3_expand_relu", 144, 4},
    {"block_6_expand_relu", 192, 8},
    {"block_13_expand_relu", 576, 16},
    {"block_16_project", 320, 32},
}};

// Decoder widths (pix2pix upsample blocks), deepest first.
inline constexpr std::array<int, 4> decoder_filters{512, 256, 128, 64};

// Where users get ImageNet weights for model.encoder_weights (Keras applications release).
inline constexpr std::string_view keras_weights_url =
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5";

// True when h and w are positive multiples of input_multiple.
constexpr bool valid_input_size(int h, int w) {
  return h > 0 && w > 0 && h % input_multiple == 0 && w % input_multiple == 0;
}

}  // namespace nucseg::model
