# C-simulation and synthesis of ${project_name} for board ${board} (part ${part}) at ${clock_mhz} MHz.
# Written by fpgacompress ${fpgacompress_version} with hls4ml ${hls4ml_version}; backend ${backend}.
# Run from this directory:  ${hls_tool} -f synth.tcl
# (hls4ml's own build_prj.tcl does the same with more options: csim, synth, cosim, export.)

open_project -reset ${project_name}_prj
set_top ${project_name}
add_files firmware/${project_name}.cpp -cflags "-std=c++0x"
add_files -tb ${project_name}_test.cpp -cflags "-std=c++0x"
add_files -tb firmware/weights
add_files -tb tb_data
open_solution -reset "solution1"
set_part {${part}}
create_clock -period ${clock_period_ns} -name default
config_compile -name_max_length 80
csim_design
csynth_design
exit
