"""File formats: the model blob (.qtb) and Xilinx bitstreams."""
