#include <iostream>

#include "myproject.h"
#include "parameters.h"


void myproject(
    hls::stream<input_t> &image,
    hls::stream<result_t> &layer7_out
) {

    // hls-fpga-machine-learning insert IO
    #pragma HLS INTERFACE axis port=image,layer7_out 
    #pragma HLS DATAFLOW

    // hls-fpga-machine-learning insert load weights
#ifndef __SYNTHESIS__
    static bool loaded_weights = false;
    if (!loaded_weights) {
        nnet::load_weights_from_txt<weight2_t, 36>(w2, "w2.txt");
        nnet::load_weights_from_txt<bias2_t, 4>(b2, "b2.txt");
        nnet::load_weights_from_txt<weight7_t, 108>(w7, "w7.txt");
        nnet::load_weights_from_txt<bias7_t, 3>(b7, "b7.txt");
        loaded_weights = true;    }
#endif
    // ****************************************
    // NETWORK INSTANTIATION
    // ****************************************

    // hls-fpga-machine-learning insert layers

    hls::stream<conv_result_t> layer2_out("layer2_out");
    #pragma HLS STREAM variable=layer2_out depth=36

    hls::stream<layer4_t> layer4_out("layer4_out");
    #pragma HLS STREAM variable=layer4_out depth=36

    hls::stream<layer5_t> layer5_out("layer5_out");
    #pragma HLS STREAM variable=layer5_out depth=9

    auto& layer6_out = layer5_out;
    nnet::conv_2d_cl<input_t, conv_result_t, config2>(image, layer2_out, w2, b2); // conv

    nnet::relu<conv_result_t, layer4_t, relu_config4>(layer2_out, layer4_out); // relu

    nnet::pooling2d_cl<layer4_t, layer5_t, config5>(layer4_out, layer5_out); // pool

    nnet::dense<layer5_t, result_t, config7>(layer6_out, layer7_out, w7, b7); // out

}

