`default_nettype none
// Simple dual-port RAM: one synchronous write port, one synchronous (registered) read port.
// Yosys/Vivado infer block RAM or distributed RAM from it, by size.
module qtd_ram #(
    parameter integer W = 8,        // word bits, >= 1
    parameter integer DEPTH = 16,   // words, >= 2
    parameter integer AW = 4        // address bits, 2^AW >= DEPTH
) (
    input  wire          clk,
    input  wire          we,
    /* verilator lint_off UNUSEDSIGNAL */  // callers pass wide addresses; the RAM uses what DEPTH needs
    input  wire [AW-1:0] waddr,
    input  wire [W-1:0]  wdata,
    input  wire [AW-1:0] raddr,
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  [W-1:0]  rdata
);
    reg [W-1:0] mem [0:DEPTH-1];
    /* verilator lint_off WIDTHTRUNC */
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        rdata <= mem[raddr];
    end
    /* verilator lint_on WIDTHTRUNC */
endmodule
