`default_nettype none
// MultiBoot through ICAPE2 (UG470 ch. 7, Table 7-1 "IPROG using ICAPE2"): on `go`, nine 32-bit
// words at one per clock: dummy, sync, NOOP, type-1 write WBSTAR, {RS = 0, RS_TS_B = 0,
// START_ADDR = addr[28:0]}, NOOP, type-1 write CMD, IPROG, NOOP. The FPGA then reconfigures from
// that flash byte address (protocol/regmap.md MULTIBOOT_ADDR / MULTIBOOT_TRIGGER).
//
// ICAPE2 is a Xilinx primitive (7-series configuration port; CLK up to 100 MHz, DS181). Verilator
// has no model of it: under `ifdef VERILATOR` a behavioural stand-in records what the port would
// receive (sim_wbstar, sim_iprog) so the sequence can be tested; Yosys and Vivado get the primitive.
// ICAPE2's data bus is bit-swapped within each byte relative to the bitstream words (UG470
// "Parallel Bus Bit Order"), so the words are swapped here.
module qtd_iprog (
    input  wire        clk,
    input  wire        rst,
    input  wire        go,       // one cycle: start the sequence (ignored while one runs)
    input  wire [28:0] addr,     // flash byte address of the bitstream to boot (WBSTAR START_ADDR)
    output wire        busy
);
    reg  [3:0]  n;               // 0 idle; 1..9 the word being written
    reg  [28:0] wb;              // the address, held for the sequence
    reg  [31:0] word;
    always @(*) begin
        case (n)
            4'd1: word = 32'hFFFFFFFF;            // dummy
            4'd2: word = 32'hAA995566;            // sync
            4'd3: word = 32'h20000000;            // NOOP
            4'd4: word = 32'h30020001;            // type 1, write 1 word to WBSTAR
            4'd5: word = {3'b000, wb};            // RS[1:0] = 0, RS_TS_B = 0, START_ADDR
            4'd6: word = 32'h20000000;            // NOOP
            4'd7: word = 32'h30008001;            // type 1, write 1 word to CMD
            4'd8: word = 32'h0000000F;            // IPROG
            default: word = 32'h20000000;         // NOOP
        endcase
    end
    always @(posedge clk) begin
        if (rst) n <= 4'd0;
        else if (n == 4'd0) begin
            if (go) begin n <= 4'd1; wb <= addr; end
        end else if (n == 4'd9) n <= 4'd0;
        else n <= n + 4'd1;
    end
    assign busy = (n != 4'd0);

    function [31:0] swap_bits_in_bytes;
        input [31:0] w;
        integer k;
        begin
            for (k = 0; k < 32; k = k + 1) swap_bits_in_bytes[(k / 8) * 8 + 7 - (k % 8)] = w[k];
        end
    endfunction
    wire [31:0] icap_i = swap_bits_in_bytes(word);
    wire        icap_csib = ~busy;
    wire        icap_rdwrb = 1'b0;   // write

`ifdef VERILATOR
    // behavioural stand-in: un-swap what ICAPE2 would take and decode WBSTAR and CMD writes
    /* verilator lint_off UNUSEDSIGNAL */   // sim_wbstar / sim_iprog are read by the testbench
    reg        sim_synced, sim_iprog;
    reg [31:0] sim_wbstar, sim_last;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [31:0] sim_w = swap_bits_in_bytes(icap_i);
    always @(posedge clk) begin
        if (rst) begin
            sim_synced <= 1'b0; sim_iprog <= 1'b0; sim_wbstar <= 32'd0; sim_last <= 32'd0;
        end else if (!icap_csib && !icap_rdwrb) begin
            sim_last <= sim_w;
            if (sim_w == 32'hAA995566) sim_synced <= 1'b1;
            if (sim_synced && sim_last == 32'h30020001) sim_wbstar <= sim_w;
            if (sim_synced && sim_last == 32'h30008001 && sim_w == 32'h0000000F) sim_iprog <= 1'b1;
        end
    end
`else
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] icap_o;
    /* verilator lint_on UNUSEDSIGNAL */
    // DEVICE_ID is only read by Xilinx's simulation model; left at its default
    ICAPE2 #(.ICAP_WIDTH("X32")) u_icap (.O(icap_o), .CLK(clk), .CSIB(icap_csib), .RDWRB(icap_rdwrb), .I(icap_i));
`endif
endmodule
