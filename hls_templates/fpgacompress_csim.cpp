// Bit-exact C-simulation testbench written by fpgacompress for ${project_name}.
//
// It runs the firmware on tb_data/tb_input_features.dat and writes the output of every traced
// layer, converted to double (exact for fixed-point types up to 53 bits) and printed as C99
// hexadecimal floats, so Python can compare with the Keras model bit for bit.
// Build and run from the project directory:
//   g++ -O2 -std=c++11 -Ifirmware -Ifirmware/ap_types -DWEIGHTS_DIR='"firmware/weights"' fpgacompress_csim.cpp firmware/${project_name}.cpp -o fpgacompress_csim
//   ./fpgacompress_csim
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "firmware/${project_name}.h"
#include "firmware/nnet_utils/nnet_helpers.h"

namespace nnet {
bool trace_enabled = true;
std::map<std::string, void *> *trace_outputs = new std::map<std::string, void *>();
size_t trace_type_size = sizeof(double);
} // namespace nnet

static void dump_layer(FILE *out, long sample, const char *layer_name, size_t layer_size) {
    const double *values = (const double *)(*nnet::trace_outputs)[layer_name];
    std::fprintf(out, "%ld %s", sample, layer_name);
    for (size_t i = 0; i < layer_size; i++) {
        std::fprintf(out, " %a", values[i]);
    }
    std::fprintf(out, "\n");
}

int main(int argc, char **argv) {
    const char *input_path = argc > 1 ? argv[1] : "tb_data/tb_input_features.dat";
    const char *trace_path = argc > 2 ? argv[2] : "tb_data/fpgacompress_csim_trace.dat";
${trace_registrations}
    std::ifstream fin(input_path);
    if (!fin.is_open()) {
        std::cerr << "cannot open " << input_path << std::endl;
        return 3;
    }
    FILE *out = std::fopen(trace_path, "w");
    if (out == NULL) {
        std::cerr << "cannot write " << trace_path << std::endl;
        return 4;
    }
    std::string line;
    long sample = 0;
    while (std::getline(fin, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        std::vector<float> in;
        char *current = std::strtok(const_cast<char *>(line.c_str()), " ");
        while (current != NULL) {
            in.push_back(std::strtof(current, NULL));
            current = std::strtok(NULL, " ");
        }
        if (in.size() != ${n_inputs}) {
            std::cerr << "sample " << sample << " has " << in.size() << " values, expected ${n_inputs}" << std::endl;
            return 5;
        }
${call}
${trace_dumps}
        sample++;
    }
    std::fclose(out);
    std::cout << "fpgacompress csim: " << sample << " samples written to " << trace_path << std::endl;
    return 0;
}
