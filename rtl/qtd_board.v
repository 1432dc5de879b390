`default_nettype none
// Board top for a real build: a power-on reset and the shared-bus MISO tristate around qtd_top.
// Parameters pass straight through (see qtd_top.v for their constraints); ABI must equal the
// bitstream's USR_ACCESS value (qtdeploy rtl vivado sets both from one number).
module qtd_board #(
    parameter integer T = 12, parameter integer M = 4, parameter integer D = 32, parameter integer F = 128,
    parameter integer H = 1, parameter integer WB = 4, parameter integer AB = 4, parameter integer LANES = 18,
    parameter integer WAW = 13, parameter [31:0] ABI = 32'h00000001, parameter integer LUTRAM_MEMS = 0
) (
    input  wire clk,        // engine clock, 100 MHz
    input  wire spi_sclk,
    input  wire spi_cs_n,
    input  wire spi_mosi,
    inout  wire spi_miso,
    output wire irq
);
    reg [3:0] por;          // reset held for 15 cycles after configuration (FPGA init value)
    initial por = 4'hF;
    always @(posedge clk) if (por != 4'd0) por <= por - 4'd1;
    wire miso, miso_oe;
    /* verilator lint_off UNUSEDSIGNAL */
    wire iprog;             // MULTIBOOT_TRIGGER: qtd_top's qtd_iprog (MULTIBOOT = 1) drives ICAPE2 itself
    /* verilator lint_on UNUSEDSIGNAL */
    qtd_top #(.T(T), .M(M), .D(D), .F(F), .H(H), .WB(WB), .AB(AB), .LANES(LANES), .WAW(WAW), .ABI(ABI),
              .MULTIBOOT(1), .LUTRAM_MEMS(LUTRAM_MEMS)) u_top (
        .clk(clk), .rst(por != 4'd0), .spi_sclk(spi_sclk), .spi_cs_n(spi_cs_n), .spi_mosi(spi_mosi),
        .spi_miso(miso), .spi_miso_oe(miso_oe), .irq(irq), .iprog(iprog)
    );
    assign spi_miso = miso_oe ? miso : 1'bz;
endmodule
