`default_nettype none
// The accelerator: SPI register interface (protocol/regmap.md, regmap v1.0) around qtd_engine.
// Input window: T*M int8 bytes, row-major (t, feature); output window: H int32 little-endian.
module qtd_top #(
    parameter integer T = 12,              // window, 1..64
    parameter integer M = 4,               // input features, 1..16 (T*M <= 4096)
    parameter integer D = 32,              // d_model, 2..256
    parameter integer F = 128,             // ffn width, 2..1024
    parameter integer H = 1,               // horizon, 1..16
    parameter integer WB = 4,              // weight bits, 2..8
    parameter integer AB = 4,              // activation bits, 2..8
    parameter integer LANES = 18,          // MAC lanes, 1..64
    parameter integer WAW = 13,            // weight memory address bits (2^WAW >= words needed)
    parameter [31:0]  ABI = 32'h00000001,  // accelerator ABI id; = USR_ACCESS in a real build
    parameter [15:0]  BUILD = 16'd1,       // VERSION[31:16]
    parameter [31:0]  CLOCK_HZ = 32'd100000000,
    parameter [31:0]  WATCHDOG = 32'd16000000, // cycles before ERROR TIMEOUT
    parameter integer MULTIBOOT = 0,       // 1: build the ICAPE2 IPROG sequencer (qtd_iprog), FEATURES.MULTIBOOT
    parameter integer LUTRAM_MEMS = 0      // qtd_engine: memories forced into distributed RAM (bit mask)
) (
    input  wire clk,
    input  wire rst,
    input  wire spi_sclk,
    input  wire spi_cs_n,
    input  wire spi_mosi,
    output wire spi_miso,
    output wire spi_miso_oe,
    output wire irq,
    output reg  iprog          // one cycle: MULTIBOOT_TRIGGER with the right key (ICAPE2 sequencer's start)
);
    localparam integer IN_LEN = T * M;
    localparam integer OUT_LEN = 4 * H;
    localparam [31:0] FEATURES = (MULTIBOOT != 0) ? 32'h0000000F : 32'h0000000B;   // IRQ | SPI_CRC | AUTO_START (| MULTIBOOT)

    // ---------------------------------------------------------------- SPI bytes
    wire       t_start, t_stop, rx_valid;
    wire [7:0] rx_byte;
    reg        tx_load;
    reg  [7:0] tx_byte;
    wire [7:0] status8;
    qtd_spi_slave u_spi (
        .clk(clk), .rst(rst), .sclk(spi_sclk), .cs_n(spi_cs_n), .mosi(spi_mosi),
        .miso(spi_miso), .miso_oe(spi_miso_oe), .start(t_start), .stop(t_stop),
        .rx_valid(rx_valid), .rx_byte(rx_byte), .tx_first(status8), .tx_load(tx_load), .tx_byte(tx_byte)
    );

    // ---------------------------------------------------------------- registers
    reg        busy, done_f, err_f, overrun, spi_err;
    reg [3:0]  err_code;
    reg [4:2]  ctrl;             // MODEL_VALID, AUTO_START, CLOCK_GATE
    reg [7:0]  irq_en;
    reg [31:0] cycles, cyc_run, infer_count, spi_last;
    reg [15:0] wl_tensor;
    reg [31:0] wl_offset;
    reg [7:0]  lut_sel;
    reg [31:0] lut_offset, mb_addr;
    reg [23:0] mb_key;
    reg [7:0]  xin [0:IN_LEN-1];

    wire [7:0] status_lo = {1'b1, 1'b0, spi_err, overrun, ctrl[2], err_f, done_f, busy};
    wire       irq_live = (status_lo & irq_en) != 8'd0;
    assign status8 = {status_lo[7], irq_live, status_lo[5:0]};
    assign irq = irq_live;

    // transaction state
    reg [7:0]  cmd;
    reg [15:0] nbytes;
    reg [15:0] addr;
    reg [7:0]  crc_rx, crc_tx, tx_cur, tx_nxt;   // READ data on the wire now / in the next byte
    reg        tx_cur_ok, tx_nxt_ok;             // ... came from a mapped address
    reg        tx_pending;
    reg [31:0] latch;
    reg [5:0]  latch_word;
    reg        latch_ok;

    function [7:0] crc8;
        input [7:0] c;
        input [7:0] d;
        integer k;
        reg [7:0] r;
        begin
            r = c ^ d;
            for (k = 0; k < 8; k = k + 1) r = r[7] ? ({r[6:0], 1'b0} ^ 8'h07) : {r[6:0], 1'b0};
            crc8 = r;
        end
    endfunction

    // register read (32-bit view) and address decode
    reg [31:0] reg32;
    reg        reg_ok;
    always @(*) begin
        reg_ok = 1'b1;
        case (addr[7:2])
            6'h00: reg32 = 32'h41445451;
            6'h01: reg32 = ABI;
            6'h02: reg32 = {BUILD, 16'h0100};
            6'h03: reg32 = FEATURES;
            6'h04: reg32 = {27'd0, ctrl, 2'b00};
            6'h05: reg32 = {24'd0, status8};
            6'h06: reg32 = {28'd0, err_code};
            6'h07: reg32 = {24'd0, irq_en};
            6'h08: reg32 = cycles;
            6'h09: reg32 = CLOCK_HZ;
            6'h0A: reg32 = infer_count;
            6'h0B: reg32 = spi_last;
            6'h0C: reg32 = IN_LEN;
            6'h0D: reg32 = OUT_LEN;
            6'h10: reg32 = {16'd0, wl_tensor};
            6'h11: reg32 = wl_offset;
            6'h12: reg32 = 32'd0;
            6'h14: reg32 = {24'd0, lut_sel};
            6'h15: reg32 = lut_offset;
            6'h16: reg32 = 32'd0;
            6'h18: reg32 = mb_addr;
            6'h19: reg32 = 32'd0;
            default: begin reg32 = 32'd0; reg_ok = 1'b0; end
        endcase
    end
    wire in_csr = (addr[15:8] == 8'h00);
    wire in_inp = (addr[15:12] == 4'h1);
    wire in_out = (addr[15:12] == 4'h2);
    wire mapped = (in_csr && reg_ok) || in_inp || in_out;
    wire is_port = in_csr && (addr[7:0] == 8'h48 || addr[7:0] == 8'h58);

    wire [H*32-1:0] y_flat;
    wire [11:0] in_off = addr[11:0];
    /* verilator lint_off WIDTHTRUNC */  // window offsets index arrays sized by T*M and H
    reg  [7:0] rd_byte;
    always @(*) begin
        rd_byte = 8'd0;
        if (in_csr) begin
            if (addr[1:0] == 2'b00) rd_byte = reg32[7:0];
            else if (latch_ok && latch_word == addr[7:2]) rd_byte = latch[addr[1:0]*8 +: 8];
            else rd_byte = reg32[addr[1:0]*8 +: 8];
        end else if (in_inp) begin
            if ({20'd0, in_off} < IN_LEN) rd_byte = xin[in_off];
        end else if (in_out) begin
            if ({20'd0, in_off} < OUT_LEN) rd_byte = y_flat[in_off*8 +: 8];
        end
    end

    /* verilator lint_on WIDTHTRUNC */

    // ---------------------------------------------------------------- loader and engine
    reg        ld_en;
    reg        lw_en, lw_hi;
    reg [AB-1:0] lw_idx;
    reg [7:0]  ld_byte;
    reg [31:0] ld_off;
    wire       ld_err;
    wire [3:0] ld_code;
    wire       ww_en, pw_en;
    wire [WAW-1:0] ww_addr;
    wire [LANES*WB-1:0] ww_data;
    wire [5:0] pw_tensor;
    wire [15:0] pw_idx;
    wire [31:0] pw_data;
    qtd_loader #(.T(T), .M(M), .D(D), .F(F), .H(H), .WB(WB), .AB(AB), .LANES(LANES), .WAW(WAW)) u_ld (
        .clk(clk), .rst(rst), .byte_en(ld_en), .byte_in(ld_byte), .tensor(wl_tensor), .offset(ld_off),
        .err(ld_err), .err_code(ld_code), .ww_en(ww_en), .ww_addr(ww_addr), .ww_data(ww_data),
        .pw_en(pw_en), .pw_tensor(pw_tensor), .pw_idx(pw_idx), .pw_data(pw_data)
    );

    reg  eng_start, eng_abort;
    wire eng_done;
    wire [IN_LEN*8-1:0] x_flat;
    genvar gx;
    generate
        for (gx = 0; gx < IN_LEN; gx = gx + 1) begin : g_x
            assign x_flat[gx*8 +: 8] = xin[gx];
        end
    endgenerate
    qtd_engine #(.T(T), .M(M), .D(D), .F(F), .H(H), .WB(WB), .AB(AB), .LANES(LANES), .WAW(WAW),
                 .LUTRAM_MEMS(LUTRAM_MEMS)) u_eng (
        .clk(clk), .rst(rst), .start(eng_start), .abort(eng_abort), .done(eng_done),
        .x_flat(x_flat), .y_flat(y_flat),
        .ww_en(ww_en), .ww_addr(ww_addr), .ww_data(ww_data),
        .pw_en(pw_en), .pw_tensor(pw_tensor), .pw_idx(pw_idx), .pw_data(pw_data),
        .lw_en(lw_en), .lw_idx(lw_idx), .lw_hi(lw_hi), .lw_data(ld_byte)
    );

    // ---------------------------------------------------------------- MultiBoot (real builds only)
    generate
        if (MULTIBOOT != 0) begin : g_iprog
            /* verilator lint_off UNUSEDSIGNAL */
            wire ip_busy;
            /* verilator lint_on UNUSEDSIGNAL */
            qtd_iprog u_iprog (.clk(clk), .rst(rst), .go(iprog), .addr(mb_addr[28:0]), .busy(ip_busy));
        end
    endgenerate

    // ---------------------------------------------------------------- the register file
    // start_req and new_err are per-cycle temporaries of this block (blocking, reset at its top)
    reg        start_req;
    reg        mv_now;      // MODEL_VALID as of this byte (a CTRL write may set it together with START)
    reg [3:0]  new_err;
    /* verilator lint_off BLKSEQ */
    /* verilator lint_off WIDTHTRUNC */
    always @(posedge clk) begin
        tx_load <= 1'b0;
        ld_en <= 1'b0;
        lw_en <= 1'b0;
        iprog <= 1'b0;
        eng_start <= 1'b0;
        eng_abort <= 1'b0;
        start_req = 1'b0;
        new_err = 4'd0;
        mv_now = ctrl[2];
        if (rst) begin
            busy <= 1'b0; done_f <= 1'b0; err_f <= 1'b0; overrun <= 1'b0; spi_err <= 1'b0;
            err_code <= 4'd0; ctrl <= 3'd0; irq_en <= 8'd0; cycles <= 32'd0; cyc_run <= 32'd0;
            infer_count <= 32'd0; spi_last <= 32'd0; wl_tensor <= 16'd0; wl_offset <= 32'd0;
            lut_sel <= 8'd0; lut_offset <= 32'd0; mb_addr <= 32'd0; mb_key <= 24'd0;
            cmd <= 8'd0; nbytes <= 16'd0; addr <= 16'd0; crc_rx <= 8'd0; crc_tx <= 8'd0;
            tx_pending <= 1'b0; latch_ok <= 1'b0; tx_cur <= 8'd0; tx_nxt <= 8'd0;
            tx_cur_ok <= 1'b1; tx_nxt_ok <= 1'b1;
        end else begin
            // SPI transaction framing
            if (t_start) begin
                nbytes <= 16'd0; crc_rx <= 8'd0; crc_tx <= 8'd0; cmd <= 8'd0; latch_ok <= 1'b0;
            end
            if (t_stop) spi_last <= {nbytes, crc_tx, crc_rx};
            if (rx_valid) begin
                tx_cur <= tx_nxt; tx_cur_ok <= tx_nxt_ok;   // the byte now on the wire (k+1)
                crc_rx <= crc8(crc_rx, rx_byte);
                if (nbytes != 16'hFFFF) nbytes <= nbytes + 16'd1;
                tx_pending <= 1'b1;
                if (nbytes == 16'd0) begin
                    cmd <= rx_byte;
                    if (rx_byte != 8'h00 && rx_byte != 8'h40 && rx_byte != 8'h80) spi_err <= 1'b1;
                end else if (nbytes == 16'd1) addr[15:8] <= rx_byte;
                else if (nbytes == 16'd2) addr[7:0] <= rx_byte;
                else if (cmd == 8'h40 && nbytes >= 16'd4) begin
                    crc_tx <= crc8(crc_tx, tx_cur);
                    if (!tx_cur_ok) spi_err <= 1'b1;  // the byte just sent came from an unmapped address
                end else if (cmd == 8'h80) begin
                    if (!is_port) addr <= addr + 16'd1;
                    if (!mapped) spi_err <= 1'b1;
                    else if (in_inp) begin
                        if ({20'd0, in_off} < IN_LEN) begin
                            if (busy) overrun <= 1'b1;
                            else begin
                                xin[in_off] <= rx_byte;
                                if ({20'd0, in_off} == IN_LEN - 1 && ctrl[3]) start_req = 1'b1;
                            end
                        end
                    end else if (in_csr) begin
                        case (addr[7:0])
                            8'h10: begin
                                ctrl <= rx_byte[4:2];
                                mv_now = rx_byte[2];
                                if (rx_byte[1]) begin
                                    busy <= 1'b0; done_f <= 1'b0; err_f <= 1'b0; err_code <= 4'd0;
                                    cycles <= 32'd0; infer_count <= 32'd0; eng_abort <= 1'b1;
                                end else if (rx_byte[0]) start_req = 1'b1;
                            end
                            8'h14: begin
                                if (rx_byte[1]) done_f <= 1'b0;
                                if (rx_byte[2]) begin err_f <= 1'b0; err_code <= 4'd0; end
                                if (rx_byte[4]) overrun <= 1'b0;
                                if (rx_byte[5]) spi_err <= 1'b0;
                            end
                            8'h1C: irq_en <= rx_byte;
                            8'h40: wl_tensor[7:0] <= rx_byte;
                            8'h41: wl_tensor[15:8] <= rx_byte;
                            8'h44: wl_offset[7:0] <= rx_byte;
                            8'h45: wl_offset[15:8] <= rx_byte;
                            8'h46: wl_offset[23:16] <= rx_byte;
                            8'h47: wl_offset[31:24] <= rx_byte;
                            8'h48: begin
                                if (busy) new_err = 4'd7;
                                else begin ld_en <= 1'b1; ld_byte <= rx_byte; ld_off <= wl_offset; wl_offset <= wl_offset + 32'd1; end
                            end
                            8'h50: lut_sel <= rx_byte;
                            8'h54: lut_offset[7:0] <= rx_byte;
                            8'h55: lut_offset[15:8] <= rx_byte;
                            8'h56: lut_offset[23:16] <= rx_byte;
                            8'h57: lut_offset[31:24] <= rx_byte;
                            8'h58: begin
                                if (busy) new_err = 4'd7;
                                else if (lut_sel != 8'd0) new_err = 4'd4;
                                else if (lut_offset >= (32'd2 << AB)) new_err = 4'd5;
                                else begin
                                    lw_en <= 1'b1; ld_byte <= rx_byte; lw_idx <= lut_offset[AB:1]; lw_hi <= lut_offset[0];
                                    lut_offset <= lut_offset + 32'd1;
                                end
                            end
                            8'h60: mb_addr[7:0] <= rx_byte;
                            8'h61: mb_addr[15:8] <= rx_byte;
                            8'h62: mb_addr[23:16] <= rx_byte;
                            8'h63: mb_addr[31:24] <= rx_byte;
                            8'h64: mb_key[7:0] <= rx_byte;
                            8'h65: mb_key[15:8] <= rx_byte;
                            8'h66: mb_key[23:16] <= rx_byte;
                            8'h67: if ({rx_byte, mb_key} == 32'h47525049) iprog <= 1'b1; else new_err = 4'd9;
                            default: ;
                        endcase
                    end
                end
            end
            // MISO two bytes ahead (qtd_spi_slave): one cycle after byte k completed (state above has
            // settled), the byte for k+2. READ data starts at byte 4, so after byte 2 (address low) the
            // first data byte is fetched and `addr` runs one byte ahead of the byte on the wire.
            if (tx_pending) begin
                tx_pending <= 1'b0;
                tx_load <= 1'b1;
                if (cmd == 8'h00) tx_byte <= status8;
                else if (cmd == 8'h40 && nbytes >= 16'd3) begin
                    tx_byte <= rd_byte;
                    tx_nxt <= rd_byte;
                    tx_nxt_ok <= mapped;
                    addr <= addr + 16'd1;
                    if (in_csr && addr[1:0] == 2'b00) begin
                        latch <= reg32; latch_word <= addr[7:2]; latch_ok <= 1'b1;
                    end
                end else tx_byte <= 8'd0;
            end
            // engine control
            if (start_req) begin
                if (busy) new_err = 4'd6;
                else if (!mv_now) new_err = 4'd1;
                else begin
                    busy <= 1'b1; done_f <= 1'b0; cyc_run <= 32'd0; eng_start <= 1'b1;
                end
            end else if (busy) begin
                cyc_run <= cyc_run + 32'd1;
                if (eng_done) begin
                    busy <= 1'b0; done_f <= 1'b1; cycles <= cyc_run + 32'd1;
                    infer_count <= infer_count + 32'd1;
                end else if (cyc_run >= WATCHDOG) begin
                    busy <= 1'b0; eng_abort <= 1'b1; new_err = 4'd8;
                end
            end
            if (ld_err) new_err = ld_code;
            if (new_err != 4'd0 && !err_f) begin err_f <= 1'b1; err_code <= new_err; end
        end
    end
    /* verilator lint_on WIDTHTRUNC */
    /* verilator lint_on BLKSEQ */
endmodule
