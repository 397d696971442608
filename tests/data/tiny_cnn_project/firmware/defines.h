#ifndef DEFINES_H_
#define DEFINES_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "nnet_utils/nnet_types.h"
#include <array>
#include <cstddef>
#include <cstdio>
#include <tuple>
#include <tuple>


// hls-fpga-machine-learning insert numbers

// hls-fpga-machine-learning insert layer-precision
typedef nnet::array<ap_fixed<16,6>, 1*1> input_t;
typedef ap_fixed<27,12> conv_accum_t;
typedef nnet::array<ap_fixed<27,12>, 4*1> conv_result_t;
typedef ap_fixed<6,1> weight2_t;
typedef ap_fixed<6,1> bias2_t;
typedef nnet::array<ap_ufixed<6,0,AP_RND_CONV,AP_SAT,0>, 4*1> layer4_t;
typedef ap_fixed<18,8> relu_table_t;
typedef ap_ufixed<6,0,AP_RND_CONV,AP_SAT,0> pool_accum_t;
typedef nnet::array<ap_ufixed<6,0,AP_RND_CONV,AP_SAT,0>, 4*1> layer5_t;
typedef ap_fixed<19,8> out_accum_t;
typedef nnet::array<ap_fixed<19,8>, 3*1> result_t;
typedef ap_fixed<6,1> weight7_t;
typedef ap_fixed<6,1> bias7_t;
typedef ap_uint<1> layer7_index;

// hls-fpga-machine-learning insert emulator-defines


#endif
