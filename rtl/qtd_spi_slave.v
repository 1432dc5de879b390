`default_nettype none
// SPI mode-1 slave (CPOL 0, CPHA 1, MSB first), oversampled in the engine clock domain.
// MISO changes after a rising SCLK edge, MOSI is sampled on the falling edge (protocol/regmap.md).
// Constraint: clk >= 8 x SCLK (two synchroniser stages plus edge detection must settle within half
// an SCLK period); a SCLK-domain front end for 62 MHz is future work (rtl/README.md).
module qtd_spi_slave (
    input  wire       clk,
    input  wire       rst,
    input  wire       sclk,
    input  wire       cs_n,
    input  wire       mosi,
    output wire       miso,
    output wire       miso_oe,    // drive MISO only while CS is low (shared bus)
    output reg        start,      // one cycle: CS fell
    output reg        stop,       // one cycle: CS rose
    output reg        rx_valid,   // one cycle: a byte completed
    output reg  [7:0] rx_byte,
    input  wire [7:0] tx_first,   // shifted out during byte 0 (the live status when CS falls)
    input  wire       tx_load,    // load tx_byte for the next byte (after rx_valid, before SCLK rises)
    input  wire [7:0] tx_byte
);
    reg [2:0] sclk_s;
    reg [2:0] cs_s;
    reg [1:0] mosi_s;
    reg [6:0] rx_sh;
    reg [7:0] tx_sh;
    reg [2:0] bitcnt;
    reg       miso_r;

    wire active = ~cs_s[1];
    wire rise = sclk_s[1] & ~sclk_s[2];
    wire fall = ~sclk_s[1] & sclk_s[2];

    assign miso = active & miso_r;
    assign miso_oe = active;

    always @(posedge clk) begin
        sclk_s <= {sclk_s[1:0], sclk};
        cs_s <= {cs_s[1:0], cs_n};
        mosi_s <= {mosi_s[0], mosi};
        start <= 1'b0;
        stop <= 1'b0;
        rx_valid <= 1'b0;
        if (rst) begin
            cs_s <= 3'b111;
            sclk_s <= 3'b000;
            bitcnt <= 3'd0;
            miso_r <= 1'b0;
            tx_sh <= 8'd0;
            rx_sh <= 7'd0;
            rx_byte <= 8'd0;
        end else if (cs_s[2] & ~cs_s[1]) begin
            start <= 1'b1;
            bitcnt <= 3'd0;
            tx_sh <= tx_first;
            miso_r <= 1'b0;
        end else if (~cs_s[2] & cs_s[1]) begin
            stop <= 1'b1;
        end else if (active) begin
            if (rise) begin
                miso_r <= tx_sh[7];
                tx_sh <= {tx_sh[6:0], 1'b0};
            end
            if (fall) begin
                rx_sh <= {rx_sh[5:0], mosi_s[1]};
                bitcnt <= bitcnt + 3'd1;
                if (bitcnt == 3'd7) begin
                    rx_valid <= 1'b1;
                    rx_byte <= {rx_sh[6:0], mosi_s[1]};
                end
            end
            if (tx_load) tx_sh <= tx_byte;
        end
    end
endmodule
