`default_nettype none
// Simple dual-port RAM: one synchronous write port, one synchronous (registered) read port.
// Yosys/Vivado infer block RAM or distributed RAM from it, by size; LUTRAM = 1 asks for distributed
// RAM (ram_style) whatever the size, to free a block RAM where the part runs short of them.
module qtd_ram #(
    parameter integer W = 8,        // word bits, >= 1
    parameter integer DEPTH = 16,   // words, >= 2
    parameter integer AW = 4,       // address bits, 2^AW >= DEPTH
    parameter integer LUTRAM = 0    // 1: distributed RAM (LUTs), 0: the tools choose by size
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
    /* verilator lint_off WIDTHTRUNC */
    generate
        if (LUTRAM != 0) begin : g_lut
            (* ram_style = "distributed" *) reg [W-1:0] mem [0:DEPTH-1];
            always @(posedge clk) begin
                if (we) mem[waddr] <= wdata;
                rdata <= mem[raddr];
            end
        end else begin : g_auto
            reg [W-1:0] mem [0:DEPTH-1];
            always @(posedge clk) begin
                if (we) mem[waddr] <= wdata;
                rdata <= mem[raddr];
            end
        end
    endgenerate
    /* verilator lint_on WIDTHTRUNC */
endmodule
