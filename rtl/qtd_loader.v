`default_nettype none
// Weight-load port: unpacks the bytes written to WLOAD_DATA (blob bit packing, protocol/blob.md:
// little-endian LSB-first stream, b bits per element) into elements and writes them where the
// engine keeps them: weight matrices as LANES-wide words (row j, column group kg at
// base + j*ceil(K/LANES) + kg), everything else element by element on the pw_* port.
// Tensor indices are blob table order for layers = 1 (qtdeploy.model export; 54 tensors).
// A tensor streams in order: a byte continues the tensor when (WLOAD_TENSOR, WLOAD_OFFSET) is
// where the previous byte left off; a new tensor or a rewrite must start at offset 0 (any other
// offset is refused with TENSOR_RANGE). At most 4 elements per byte leave per clock, so the engine
// clock must run at least 4 cycles per SPI byte (62.5 MHz SCLK at 100 MHz: 12.8 cycles per byte).
module qtd_loader #(
    parameter integer T = 12,       // window, 1..64
    parameter integer M = 4,        // input features, 1..16
    parameter integer D = 32,       // d_model, 2..256
    parameter integer F = 128,      // ffn width, 2..1024
    parameter integer H = 1,        // horizon, 1..16
    parameter integer WB = 4,       // weight bits, 2..8
    parameter integer AB = 4,       // activation bits (ranges are stored at this width), 2..8
    parameter integer LANES = 18,   // MAC lanes, 1..64
    parameter integer WAW = 13      // weight memory address bits (>= clog2 of qtd_engine's WDEPTH)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  byte_en,
    input  wire [7:0]            byte_in,
    input  wire [15:0]           tensor,
    input  wire [31:0]           offset,
    output reg                   err,
    output reg  [3:0]            err_code,
    output reg                   ww_en,
    output reg  [WAW-1:0]        ww_addr,
    output reg  [LANES*WB-1:0]   ww_data,
    output reg                   pw_en,
    output reg  [5:0]            pw_tensor,
    output reg  [15:0]           pw_idx,
    output reg  [31:0]           pw_data
);
    localparam [15:0] NT = 16'd54;
    localparam [6:0] LM1 = LANES[6:0] - 7'd1;
    localparam integer KGM = (M + LANES - 1) / LANES;
    localparam integer KGD = (D + LANES - 1) / LANES;
    localparam integer KGF = (F + LANES - 1) / LANES;
    localparam integer WB_Q = D * KGM;
    localparam integer WB_K = WB_Q + D * KGD;
    localparam integer WB_V = WB_K + D * KGD;
    localparam integer WB_O = WB_V + D * KGD;
    localparam integer WB_F1 = WB_O + D * KGD;
    localparam integer WB_F2 = WB_F1 + F * KGD;
    localparam integer WB_HD = WB_F2 + D * KGF;

    // tensor table (combinational): bits, element count, weight matrix?, row length, word base
    reg [5:0]  i_tb;
    reg [31:0] i_cnt;
    reg        i_w;
    reg [15:0] i_k;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [31:0] i_base;   // only WAW bits address the weight memory
    /* verilator lint_on UNUSEDSIGNAL */
    always @(*) begin
        i_tb = 6'd32;
        i_cnt = 32'd1;
        i_w = 1'b0;
        i_k = 16'd1;
        i_base = 32'd0;
        if (tensor < 16'd14) begin
            i_tb = AB[5:0];
            i_cnt = 32'd2;
        end else begin
            case (tensor[5:0])
                6'd14: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = D * M; i_k = M[15:0]; i_base = 32'd0; end
                6'd15: i_cnt = T * D;
                6'd16, 6'd20, 6'd24, 6'd28, 6'd36, 6'd46, 6'd19, 6'd23, 6'd27, 6'd35, 6'd45: i_cnt = D;
                6'd17, 6'd21, 6'd25, 6'd29, 6'd37, 6'd47: begin i_tb = 6'd8; i_cnt = D; end
                6'd18: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = D * D; i_k = D[15:0]; i_base = WB_Q; end
                6'd22: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = D * D; i_k = D[15:0]; i_base = WB_K; end
                6'd26: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = D * D; i_k = D[15:0]; i_base = WB_V; end
                6'd34: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = D * D; i_k = D[15:0]; i_base = WB_O; end
                6'd40: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = F * D; i_k = D[15:0]; i_base = WB_F1; end
                6'd41, 6'd42: i_cnt = F;
                6'd43: begin i_tb = 6'd8; i_cnt = F; end
                6'd44: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = D * F; i_k = F[15:0]; i_base = WB_F2; end
                6'd38, 6'd48: i_cnt = 32'd2;
                6'd31, 6'd33, 6'd39, 6'd49, 6'd51: i_tb = 6'd8;
                6'd52: begin i_w = 1'b1; i_tb = WB[5:0]; i_cnt = H * D; i_k = D[15:0]; i_base = WB_HD; end
                6'd53: i_cnt = H;
                default: i_cnt = 32'd1;   // 30, 32, 50: per-tensor multipliers
            endcase
        end
    end
    wire [31:0] i_bytes = (i_cnt * {26'd0, i_tb} + 32'd7) >> 3;

    reg        cur_valid;
    reg [15:0] cur_tensor;
    reg [31:0] next_off;
    reg [5:0]  cur_tb;
    reg        cur_w;
    reg [15:0] cur_k;
    reg [31:0] cur_cnt;
    reg [39:0] acc;
    reg [6:0]  acc_n;
    reg [15:0] e_idx;
    reg [15:0] k_col;
    reg [6:0]  lane;
    reg [WAW-1:0] waddr;
    reg [LANES*WB-1:0] word;

    function [LANES*WB-1:0] put_lane;   // lane `lane` of `w` replaced by `v` (decoder + muxes)
        input [LANES*WB-1:0] w;
        input [6:0] ln;
        input [WB-1:0] v;
        integer k;
        begin
            put_lane = w;
            for (k = 0; k < LANES; k = k + 1) if (ln == k[6:0]) put_lane[k*WB +: WB] = v;
        end
    endfunction

    wire restart = ~cur_valid | (tensor != cur_tensor) | (offset != next_off);
    wire [31:0] elem = acc[31:0] & ((cur_tb == 6'd32) ? 32'hFFFFFFFF : ((32'd1 << cur_tb) - 32'd1));

    always @(posedge clk) begin
        err <= 1'b0;
        ww_en <= 1'b0;
        pw_en <= 1'b0;
        if (rst) begin
            cur_valid <= 1'b0;
            acc_n <= 7'd0;
            err_code <= 4'd0;
        end else if (byte_en) begin
            if (tensor >= NT) begin
                err <= 1'b1;
                err_code <= 4'd2;       // BAD_TENSOR
            end else if (offset >= i_bytes || (restart && offset != 32'd0)) begin
                err <= 1'b1;
                err_code <= 4'd3;       // TENSOR_RANGE
            end else begin
                next_off <= offset + 32'd1;
                if (restart) begin
                    cur_valid <= 1'b1;
                    cur_tensor <= tensor;
                    cur_tb <= i_tb;
                    cur_w <= i_w;
                    cur_k <= i_k;
                    cur_cnt <= i_cnt;
                    acc <= {32'd0, byte_in};
                    acc_n <= 7'd8;
                    e_idx <= 16'd0;
                    k_col <= 16'd0;
                    lane <= 7'd0;
                    waddr <= i_base[WAW-1:0];
                    word <= {LANES*WB{1'b0}};
                end else begin
                    acc <= acc | ({32'd0, byte_in} << acc_n);
                    acc_n <= acc_n + 7'd8;
                end
            end
        end else if (cur_valid && acc_n >= {1'b0, cur_tb} && {16'd0, e_idx} < cur_cnt) begin   // padding bits never emit
            acc <= acc >> cur_tb;
            acc_n <= acc_n - {1'b0, cur_tb};
            e_idx <= e_idx + 16'd1;
            if (cur_w) begin
                if (k_col == cur_k - 16'd1 || lane == LM1) begin
                    ww_en <= 1'b1;
                    ww_addr <= waddr;
                    ww_data <= put_lane(word, lane, elem[WB-1:0]);
                    word <= {LANES*WB{1'b0}};
                    waddr <= waddr + 1'b1;
                    lane <= 7'd0;
                    k_col <= (k_col == cur_k - 16'd1) ? 16'd0 : k_col + 16'd1;
                end else begin
                    word <= put_lane(word, lane, elem[WB-1:0]);
                    lane <= lane + 7'd1;
                    k_col <= k_col + 16'd1;
                end
            end else begin
                pw_en <= 1'b1;
                pw_tensor <= cur_tensor[5:0];
                pw_idx <= e_idx;
                pw_data <= elem;
            end
        end
    end
endmodule
