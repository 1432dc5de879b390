`default_nettype none
// SPI mode-1 slave (CPOL 0, CPHA 1, MSB first) for SCLK up to ~100 MHz against a 100 MHz engine
// clock (the enV5 runs 62 MHz): the shift registers run in the SCLK domain, bytes cross to `clk`.
//
// SCLK domain (both edges; CS high resets it asynchronously):
//   falling edge: MOSI into the receive shifter; after 8 bits the byte goes to rx_hold and rx_tog
//                 toggles (rx_hold is then stable for a whole byte time, 8 SCLK periods).
//   rising edge:  MISO from the transmit shifter; at a byte's first rising edge the shifter loads
//                 STATUS (byte 0, and every byte of a STATUS command, decided in the SCLK domain from
//                 the command byte just received) or tx_buf[byte index & 1].
// clk domain: rx_tog through two flip-flops, an edge of it is `rx_valid` with rx_hold (stable);
// CS through four flip-flops, so `stop` always comes after the last byte's `rx_valid`.
//
// Transmit data is two bytes ahead: the caller's `tx_load` after byte k's `rx_valid` writes the byte
// for byte k+2 into tx_buf[k & 1]. That buffer was last loaded at byte k's first rising edge and is
// next loaded at byte k+2's, 8.5 SCLK periods after byte k's last falling edge; the write lands
// about 6-7 clk cycles after that edge (synchroniser, rx_valid, the caller's one-cycle turnaround),
// so the buffer is stable whenever the SCLK domain samples it while 8.5 SCLK periods > ~75 ns.
// protocol/regmap.md's turnaround byte before read data is what makes "two bytes ahead" possible.
// Bytes 1 and 2 of a transaction read tx_buf as cleared at CS fall (`start`) unless loaded.
//
// STATUS is sampled from `st_q`, a clk-domain register of tx_first, at the first rising SCLK edge of
// a byte (for byte 0: the first SCLK edge after CS falls, at most a half SCLK period after CS falls
// by the master's timing). Each STATUS bit is a flag held for many cycles; a bit that changes at that
// very edge reads as old or new (a single-bit asynchronous sample, resolved before it is shifted out).
// The timing constraints for this crossing are in the generated XDC (qtdeploy.rtl.vivado).
module qtd_spi_slave (
    input  wire       clk,
    input  wire       rst,
    input  wire       sclk,
    /* verilator lint_off SYNCASYNCNET */   // by design: CS resets the SCLK domain and is synchronised into clk
    input  wire       cs_n,
    /* verilator lint_on SYNCASYNCNET */
    input  wire       mosi,
    output wire       miso,
    output wire       miso_oe,    // drive MISO only while CS is low (shared bus)
    output reg        start,      // one clk cycle: CS fell
    output reg        stop,       // one clk cycle: CS rose (after the last byte's rx_valid)
    output reg        rx_valid,   // one clk cycle: a byte completed
    output reg  [7:0] rx_byte,
    input  wire [7:0] tx_first,   // the live STATUS byte (byte 0, and every byte of a STATUS command)
    input  wire       tx_load,    // within 4 cycles after rx_valid of byte k: tx_byte is byte k+2's MISO
    input  wire [7:0] tx_byte
);
    // ---------------------------------------------------------------- clk domain: published state
    reg [7:0] st_q;               // STATUS as a register (glitch-free for the SCLK-domain sample)
    reg [7:0] tx_buf0, tx_buf1;   // MISO bytes for even / odd byte indices >= 1

    // ---------------------------------------------------------------- SCLK domain, falling edge
    reg [2:0] f_bit;
    reg [6:0] f_sh;
    reg       f_first;            // byte 0 still being received
    reg       f_stat;             // the command byte was STATUS (0x00)
    always @(negedge sclk or posedge cs_n) begin
        if (cs_n) begin
            f_bit <= 3'd0;
            f_first <= 1'b1;
            f_stat <= 1'b0;
        end else begin
            f_bit <= f_bit + 3'd1;
            if (f_bit == 3'd7) begin
                f_first <= 1'b0;
                if (f_first) f_stat <= ({f_sh, mosi} == 8'h00);
            end
        end
    end
    // f_sh, rx_hold, rx_tog are not reset by CS: the clk domain sees every completed byte as a toggle
    reg [7:0] rx_hold;
    reg       rx_tog;
    always @(negedge sclk) begin
        if (!cs_n) f_sh <= {f_sh[5:0], mosi};
        if (!cs_n && f_bit == 3'd7) begin
            rx_hold <= {f_sh, mosi};
            rx_tog <= ~rx_tog;
        end
    end

    // ---------------------------------------------------------------- SCLK domain, rising edge
    reg [2:0] r_bit;
    reg       r_odd;              // index of the byte being sent is odd
    reg       r_first;            // byte 0 not started yet
    reg [7:0] tx_sh;
    always @(posedge sclk or posedge cs_n) begin
        if (cs_n) begin
            r_bit <= 3'd0;
            r_odd <= 1'b0;
            r_first <= 1'b1;
            tx_sh <= 8'd0;
        end else begin
            r_bit <= r_bit + 3'd1;
            if (r_bit == 3'd0) begin
                r_first <= 1'b0;
                r_odd <= ~r_odd;
                if (r_first || f_stat) tx_sh <= st_q;
                else tx_sh <= r_odd ? tx_buf1 : tx_buf0;
            end else tx_sh <= {tx_sh[6:0], 1'b0};
        end
    end
    assign miso = ~cs_n & tx_sh[7];
    assign miso_oe = ~cs_n;

    // ---------------------------------------------------------------- clk domain
    reg [2:0] tog_s;              // [0],[1] synchroniser, [2] previous
    reg [4:0] cs_s;               // [0],[1] synchroniser, [2],[3] delay (stop after rx_valid), [4] previous
    reg       k_odd;              // index of the next byte to complete is odd
    reg       last_odd;           // index of the byte of the last rx_valid is odd
    always @(posedge clk) begin
        tog_s <= {tog_s[1:0], rx_tog};
        cs_s <= {cs_s[3:0], cs_n};
        st_q <= tx_first;
        start <= 1'b0;
        stop <= 1'b0;
        rx_valid <= 1'b0;
        if (rst) begin
            cs_s <= 5'b11111;
            tog_s <= {3{rx_tog}};
            k_odd <= 1'b0;
            last_odd <= 1'b0;
            tx_buf0 <= 8'd0;
            tx_buf1 <= 8'd0;
            rx_byte <= 8'd0;
        end else begin
            if (cs_s[4] & ~cs_s[3]) begin
                start <= 1'b1;
                k_odd <= 1'b0;
                tx_buf0 <= 8'd0;
                tx_buf1 <= 8'd0;
            end
            if (~cs_s[4] & cs_s[3]) stop <= 1'b1;
            if (tog_s[2] ^ tog_s[1]) begin
                rx_valid <= 1'b1;
                rx_byte <= rx_hold;
                last_odd <= k_odd;
                k_odd <= ~k_odd;
            end
            if (tx_load) begin
                if (last_odd) tx_buf1 <= tx_byte;
                else tx_buf0 <= tx_byte;
            end
        end
    end
endmodule
