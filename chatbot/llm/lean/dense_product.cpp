// oneDNN's bf16 product of activations by weights it packed (fast_decode.py's DenseLinear), as an
// operator of this library's own, so that the compiled layers call it without going through
// Python: as a Python custom op (chatbot::dense_product) each call cost 20-30 us more, 2-4 ms of
// a 16-row step's 121 products. Built and loaded by chatbot/native.py with the kernels.
#include <torch/library.h>
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

namespace {

at::Tensor dense_product(const at::Tensor& x, const at::Tensor& packed) {
  static auto product = c10::Dispatcher::singleton()
      .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
      .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::string_view,
                        c10::List<std::optional<at::Scalar>>, std::optional<c10::string_view>)>();
  return product.call(x, packed, std::nullopt, "none", c10::List<std::optional<at::Scalar>>(), "");
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(chatbot_native, m) {
  m.def("dense_product(Tensor x, Tensor packed) -> Tensor");
}

// The weights are oneDNN's own tensor (MkldnnCPU); the activations an ordinary one.
TORCH_LIBRARY_IMPL(chatbot_native, CPU, m) {
  m.impl("dense_product", dense_product);
}

TORCH_LIBRARY_IMPL(chatbot_native, MkldnnCPU, m) {
  m.impl("dense_product", dense_product);
}
