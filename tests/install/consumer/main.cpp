// Built against the installed frost package through find_package(frost CONFIG REQUIRED): uses
// the umbrella header, runs autograd through a convolution and checks hand-computed values.
#include <frost/frost.hpp>

#include <cmath>
#include <cstdio>

int main() {
  // 1x1x3x3 input of ones, one 2x2 kernel of ones: each of the 4 outputs is 4; the sum is 16
  // and every weight's gradient is the number of windows, 4.
  auto x = frost::Tensor<float>::ones({1, 1, 3, 3});
  auto w = frost::Tensor<float>::ones({1, 1, 2, 2}).requires_grad_();
  auto loss = frost::sum(frost::conv2d(x, w));
  loss.backward();
  if (std::abs(loss.item() - 16.0f) > 1e-6f || std::abs(w.grad().at({0, 0, 1, 1}) - 4.0f) > 1e-6f) {
    std::fprintf(stderr, "consumer: conv2d gave %f, grad %f\n", loss.item(),
                 w.grad().at({0, 0, 1, 1}));
    return 1;
  }
  std::printf("consumer: ok (INT8 path %s)\n",
              std::string(frost::kernels::isa_name(frost::kernels::active_isa())).c_str());
  return 0;
}
