`default_nettype none
// The integer-only Transformer datapath (protocol/model.md, layers = 1, heads = 1), bit-exact with
// qtdeploy.model.reference. A sequencer walks the phases IN, Q, K, V, SCORES, SOFTMAX, CTX, O(+res1),
// FFN1, FFN2(+res2, pooling sums), POOL, HEAD; every matrix phase runs on LANES parallel multipliers
// that split the reduction index (weights as LANES-wide BRAM words), an adder tree, an accumulator,
// then one fully pipelined requantisation unit (bias, int64 multiply, round-half-up shift, clamp, the
// residual's two multipliers), one output per clock.
module qtd_engine #(
    parameter integer T = 12,       // window, 1..64
    parameter integer M = 4,        // input features, 1..16
    parameter integer D = 32,       // d_model, 2..256
    parameter integer F = 128,      // ffn width, 2..1024
    parameter integer H = 1,        // horizon, 1..16
    parameter integer WB = 4,       // weight bits, 2..8
    parameter integer AB = 4,       // activation bits, 2..8 (exp LUT has <= 2^AB entries)
    parameter integer LANES = 18,   // MAC lanes, 1..64
    parameter integer WAW = 13,     // weight address bits: 2^WAW >= WDEPTH
    parameter integer LUTRAM_MEMS = 0  // memories forced into distributed RAM, one bit each: 0 X buffer,
                                       // 1 Y buffer, 2 bias, 3 multiplier, 4 shift, 5 in.bias
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 start,
    input  wire                 abort,
    output reg                  done,
    input  wire [T*M*8-1:0]     x_flat,
    output wire [H*32-1:0]      y_flat,
    // loader ports
    input  wire                 ww_en,
    input  wire [WAW-1:0]       ww_addr,
    input  wire [LANES*WB-1:0]  ww_data,
    input  wire                 pw_en,
    input  wire [5:0]           pw_tensor,
    input  wire [15:0]          pw_idx,
    input  wire [31:0]          pw_data,
    input  wire                 lw_en,
    input  wire [AB-1:0]        lw_idx,
    input  wire                 lw_hi,
    input  wire [7:0]           lw_data
);
    localparam integer L = LANES;
    localparam integer KGM = (M + L - 1) / L;
    localparam integer KGD = (D + L - 1) / L;
    localparam integer KGF = (F + L - 1) / L;
    localparam integer KGT = (T + L - 1) / L;
    localparam integer WB_Q = D * KGM;
    localparam integer WB_K = WB_Q + D * KGD;
    localparam integer WB_V = WB_K + D * KGD;
    localparam integer WB_O = WB_V + D * KGD;
    localparam integer WB_F1 = WB_O + D * KGD;
    localparam integer WB_F2 = WB_F1 + F * KGD;
    localparam integer WB_HD = WB_F2 + D * KGF;
    localparam integer WDEPTH = WB_HD + H * KGD;
    localparam integer PCH = 6 * D + F + H;
    localparam integer AW = 16;                 // buffer address bits (all buffers < 64 Ki words)
    localparam integer AX = AB + 1;             // activation operand: signed, or unsigned + 0 MSB
    localparam integer BX = ((WB > AB) ? WB : AB) + 1;
    localparam integer LUTN = 1 << AB;
    // 16-bit copies for counter arithmetic (all sizes < 2^16 by the parameter constraints)
    localparam [15:0] T16 = T[15:0], M16 = M[15:0], D16 = D[15:0], F16 = F[15:0], H16 = H[15:0];
    localparam [15:0] KGM16 = KGM[15:0], KGD16 = KGD[15:0], KGF16 = KGF[15:0], KGT16 = KGT[15:0];
    localparam [15:0] WQ16 = WB_Q[15:0], WK16 = WB_K[15:0], WV16 = WB_V[15:0], WO16 = WB_O[15:0];
    localparam [15:0] WF116 = WB_F1[15:0], WF216 = WB_F2[15:0], WHD16 = WB_HD[15:0];
    localparam [6:0]  LM1 = L[6:0] - 7'd1;

    localparam [3:0] P_IDLE = 4'd0, P_XCP = 4'd1, P_IN = 4'd2, P_Q = 4'd3, P_K = 4'd4, P_V = 4'd5,
                     P_SC = 4'd6, P_SM = 4'd7, P_CTX = 4'd8, P_O = 4'd9, P_F1 = 4'd10, P_F2 = 4'd11,
                     P_POOL = 4'd12, P_HEAD = 4'd13;
    // destinations
    localparam [3:0] D_H = 4'd0, D_Q = 4'd1, D_K = 4'd2, D_VT = 4'd3, D_S = 4'd4, D_C = 4'd5,
                     D_R1 = 4'd6, D_F1 = 4'd7, D_PACC = 4'd8, D_POOL = 4'd9, D_Y = 4'd10;

    // ---------------------------------------------------------------- scalars, ranges, small arrays
    reg signed [9:0]  rng_lo [0:13];
    reg signed [9:0]  rng_hi [0:13];
    reg signed [31:0] sc_m, ctx_m, pool_m, r1_m0, r1_m1, r2_m0, r2_m1;
    reg [7:0]         sc_s, ctx_s, pool_s, r1_s, r2_s;
    reg [15:0]        lut [0:LUTN-1];
    reg [AB:0]        lut_len;
    reg [31:0]        y_mem [0:H-1];

    genvar gy;
    generate
        for (gy = 0; gy < H; gy = gy + 1) begin : g_y
            assign y_flat[gy*32 +: 32] = y_mem[gy];
        end
    endgenerate

    wire pw_signed_rng = (pw_tensor != 6'd6) && (pw_tensor != 6'd10);   // probs, ffn1: unsigned
    wire [9:0] pw_rng = pw_signed_rng ? {{(10-AB){pw_data[AB-1]}}, pw_data[AB-1:0]}
                                      : {{(10-AB){1'b0}}, pw_data[AB-1:0]};
    always @(posedge clk) begin
        if (pw_en) begin
            if (pw_tensor < 6'd14) begin
                if (pw_idx[0]) rng_hi[pw_tensor[3:0]] <= pw_rng;
                else rng_lo[pw_tensor[3:0]] <= pw_rng;
            end
            case (pw_tensor)
                6'd30: sc_m <= pw_data;
                6'd31: sc_s <= pw_data[7:0];
                6'd32: ctx_m <= pw_data;
                6'd33: ctx_s <= pw_data[7:0];
                6'd38: if (pw_idx[0]) r1_m1 <= pw_data; else r1_m0 <= pw_data;
                6'd39: r1_s <= pw_data[7:0];
                6'd48: if (pw_idx[0]) r2_m1 <= pw_data; else r2_m0 <= pw_data;
                6'd49: r2_s <= pw_data[7:0];
                6'd50: pool_m <= pw_data;
                6'd51: pool_s <= pw_data[7:0];
                default: ;
            endcase
        end
        if (lw_en) begin
            if (lw_hi) lut[lw_idx][15:8] <= lw_data;
            else lut[lw_idx][7:0] <= lw_data;
            if (lw_idx == {AB{1'b0}} && !lw_hi) lut_len <= 1;
            else if ({1'b0, lw_idx} >= lut_len) lut_len <= {1'b0, lw_idx} + 1'b1;
        end
    end

    // per-channel parameter memories: bias, multiplier, shift; in.bias (bias + PE ROM)
    reg         pb_we, pm_we, ps_we, inb_we;
    reg  [15:0] pch_waddr;
    always @(*) begin
        pb_we = 1'b0; pm_we = 1'b0; ps_we = 1'b0; inb_we = 1'b0;
        pch_waddr = pw_idx;
        case (pw_tensor)
            6'd15: inb_we = pw_en;
            6'd16: pm_we = pw_en;
            6'd17: ps_we = pw_en;
            6'd19: begin pb_we = pw_en; pch_waddr = pw_idx + D16; end
            6'd20: begin pm_we = pw_en; pch_waddr = pw_idx + D16; end
            6'd21: begin ps_we = pw_en; pch_waddr = pw_idx + D16; end
            6'd23: begin pb_we = pw_en; pch_waddr = pw_idx + 16'd2 * D16; end
            6'd24: begin pm_we = pw_en; pch_waddr = pw_idx + 16'd2 * D16; end
            6'd25: begin ps_we = pw_en; pch_waddr = pw_idx + 16'd2 * D16; end
            6'd27: begin pb_we = pw_en; pch_waddr = pw_idx + 16'd3 * D16; end
            6'd28: begin pm_we = pw_en; pch_waddr = pw_idx + 16'd3 * D16; end
            6'd29: begin ps_we = pw_en; pch_waddr = pw_idx + 16'd3 * D16; end
            6'd35: begin pb_we = pw_en; pch_waddr = pw_idx + 16'd4 * D16; end
            6'd36: begin pm_we = pw_en; pch_waddr = pw_idx + 16'd4 * D16; end
            6'd37: begin ps_we = pw_en; pch_waddr = pw_idx + 16'd4 * D16; end
            6'd41: begin pb_we = pw_en; pch_waddr = pw_idx + 16'd5 * D16; end
            6'd42: begin pm_we = pw_en; pch_waddr = pw_idx + 16'd5 * D16; end
            6'd43: begin ps_we = pw_en; pch_waddr = pw_idx + 16'd5 * D16; end
            6'd45: begin pb_we = pw_en; pch_waddr = pw_idx + 16'd5 * D16 + F16; end
            6'd46: begin pm_we = pw_en; pch_waddr = pw_idx + 16'd5 * D16 + F16; end
            6'd47: begin ps_we = pw_en; pch_waddr = pw_idx + 16'd5 * D16 + F16; end
            6'd53: begin pb_we = pw_en; pch_waddr = pw_idx + 16'd6 * D16 + F16; end
            default: ;
        endcase
    end

    // a word with lane `lane` replaced by `v` (a decoder and per-lane muxes, no barrel shifter)
    function [L*AB-1:0] put_lane;
        input [L*AB-1:0] w;
        input [6:0] lane;
        input [AB-1:0] v;
        integer k;
        begin
            put_lane = w;
            for (k = 0; k < L; k = k + 1) if (lane == k[6:0]) put_lane[k*AB +: AB] = v;
        end
    endfunction

    // ---------------------------------------------------------------- sequencer state
    reg [3:0]  phase;
    reg        issuing;
    reg [4:0]  drain;
    reg [15:0] o_c, i_c, kg_c, ig_c;
    reg [6:0]  il_c;
    reg [AW-1:0] a_addr, b_addr, a_row, b_row;
    reg [15:0] dr_c, kr_c, sr_c, ir_c;   // o * (dest words per row), o * KGD, o * T, o * D

    // phase configuration
    reg [15:0] c_no, c_ni, c_kg;
    reg        c_trans, c_aus, c_bw;
    reg [AW-1:0] c_bbase;
    reg [15:0] c_pch;
    reg [1:0]  c_bias;       // 0 none, 1 per-channel PB, 2 in.bias (T, d)
    reg        c_pt;         // per-tensor multiplier
    reg [3:0]  c_rng;
    reg [1:0]  c_res;        // 0 none, 1 res1 (skip h0), 2 res2 (skip res1)
    reg [3:0]  c_dst;
    always @(*) begin
        c_no = T16; c_ni = D16; c_kg = KGD16; c_trans = 1'b0; c_aus = 1'b0; c_bw = 1'b1; c_bbase = 16'd0;
        c_pch = 16'd0; c_bias = 2'd1; c_pt = 1'b0; c_rng = 4'd0; c_res = 2'd0; c_dst = D_H;
        case (phase)
            P_IN:   begin c_kg = KGM16; c_bias = 2'd2; c_rng = 4'd1; c_dst = D_H; end
            P_Q:    begin c_bbase = WQ16; c_pch = D16; c_rng = 4'd2; c_dst = D_Q; end
            P_K:    begin c_bbase = WK16; c_pch = 16'd2 * D16; c_rng = 4'd3; c_dst = D_K; end
            P_V:    begin c_no = D16; c_ni = T16; c_trans = 1'b1; c_bbase = WV16; c_pch = 16'd3 * D16; c_rng = 4'd4; c_dst = D_VT; end
            P_SC:   begin c_ni = T16; c_bw = 1'b0; c_bias = 2'd0; c_pt = 1'b1; c_rng = 4'd5; c_dst = D_S; end
            P_CTX:  begin c_kg = KGT16; c_aus = 1'b1; c_bw = 1'b0; c_bias = 2'd0; c_pt = 1'b1; c_rng = 4'd7; c_dst = D_C; end
            P_O:    begin c_bbase = WO16; c_pch = 16'd4 * D16; c_rng = 4'd8; c_res = 2'd1; c_dst = D_R1; end
            P_F1:   begin c_ni = F16; c_bbase = WF116; c_pch = 16'd5 * D16; c_rng = 4'd10; c_dst = D_F1; end
            P_F2:   begin c_kg = KGF16; c_aus = 1'b1; c_bbase = WF216; c_pch = 16'd5 * D16 + F16; c_rng = 4'd11; c_res = 2'd2; c_dst = D_PACC; end
            P_POOL: begin c_no = 16'd1; c_kg = 16'd1; c_bias = 2'd0; c_pt = 1'b1; c_rng = 4'd13; c_dst = D_POOL; end
            P_HEAD: begin c_no = 16'd1; c_ni = H16; c_bbase = WHD16; c_pch = 16'd6 * D16 + F16; c_dst = D_Y; end
            default: ;
        endcase
    end
    wire [15:0] kg_dst = (c_dst == D_VT) ? KGT16 : (c_dst == D_F1) ? KGF16 : KGD16;   // dest words per row
    wire mac_phase = (phase != P_IDLE) && (phase != P_XCP) && (phase != P_SM);

    // ---------------------------------------------------------------- memories
    wire [L*WB-1:0] wm_rd;
    wire [L*AB-1:0] xw_rd, hb_rd, qb_rd, kb_rd, vt_rd, pb_rd, cb_rd, r1_rd, f1_rd, po_rd;
    wire [31:0] pbias_rd, pmult_rd, inb_rd;
    wire [7:0]  pshift_rd;
    reg  [AW-1:0] skip_addr;
    reg  [AW-1:0] pch_raddr, inb_raddr;

    // writers
    reg          xw_we;  reg [AW-1:0] xw_wa; reg [L*AB-1:0] xw_wd;
    reg          pr_we;  reg [AW-1:0] pr_wa; reg [L*AB-1:0] pr_wd;
    reg          ob_we;  reg [AW-1:0] ob_wa; reg [L*AB-1:0] ob_wd; reg [3:0] ob_dst;

    qtd_ram #(.W(L*WB), .DEPTH(WDEPTH), .AW(WAW)) u_wm (.clk(clk), .we(ww_en), .waddr(ww_addr), .wdata(ww_data), .raddr(b_addr[WAW-1:0]), .rdata(wm_rd));
    qtd_ram #(.W(L*AB), .DEPTH(T*KGM), .AW(AW)) u_xw (.clk(clk), .we(xw_we), .waddr(xw_wa), .wdata(xw_wd), .raddr(a_addr), .rdata(xw_rd));
    // Activation buffers share two memories (one block RAM each where they are large): every phase
    // reads at most one buffer of each and writes one. X = h0 | q | ffn1, Y = k | ctx | res1
    // (SCORES reads q and k, O reads ctx and the h0 skip, FFN2 reads ffn1 and the res1 skip).
    localparam integer TKD_I = T * KGD;
    localparam [AW-1:0] TKD = TKD_I[AW-1:0];
    localparam [AW-1:0] X_Q = TKD, X_F1 = TKD + TKD, Y_C = TKD, Y_R1 = TKD + TKD;
    reg  [AW-1:0] x_ra, y_ra, ob_base;
    wire [L*AB-1:0] x_rd, y_rd;
    always @(*) begin
        case (phase)
            P_O:     x_ra = skip_addr;
            P_SC:    x_ra = X_Q + a_addr;
            P_F2:    x_ra = X_F1 + a_addr;
            default: x_ra = a_addr;
        endcase
        case (phase)
            P_O:     y_ra = Y_C + a_addr;
            P_F1:    y_ra = Y_R1 + a_addr;
            P_F2:    y_ra = Y_R1 + skip_addr;
            default: y_ra = b_addr;
        endcase
        case (ob_dst)
            D_Q: ob_base = X_Q;
            D_F1: ob_base = X_F1;
            D_C: ob_base = Y_C;
            D_R1: ob_base = Y_R1;
            default: ob_base = {AW{1'b0}};
        endcase
    end
    wire ob_x = (ob_dst == D_H) || (ob_dst == D_Q) || (ob_dst == D_F1);
    wire ob_y = (ob_dst == D_K) || (ob_dst == D_C) || (ob_dst == D_R1);
    qtd_ram #(.W(L*AB), .DEPTH(2*T*KGD + T*KGF), .AW(AW), .LUTRAM((LUTRAM_MEMS >> 0) & 1)) u_xb (.clk(clk), .we(ob_we && ob_x), .waddr(ob_base + ob_wa), .wdata(ob_wd), .raddr(x_ra), .rdata(x_rd));
    qtd_ram #(.W(L*AB), .DEPTH(3*T*KGD), .AW(AW), .LUTRAM((LUTRAM_MEMS >> 1) & 1)) u_yb (.clk(clk), .we(ob_we && ob_y), .waddr(ob_base + ob_wa), .wdata(ob_wd), .raddr(y_ra), .rdata(y_rd));
    assign hb_rd = x_rd; assign qb_rd = x_rd; assign f1_rd = x_rd;
    assign kb_rd = y_rd; assign cb_rd = y_rd; assign r1_rd = y_rd;
    qtd_ram #(.W(L*AB), .DEPTH(D*KGT), .AW(AW)) u_vt (.clk(clk), .we(ob_we && ob_dst == D_VT), .waddr(ob_wa), .wdata(ob_wd), .raddr(b_addr), .rdata(vt_rd));
    qtd_ram #(.W(L*AB), .DEPTH(T*KGT), .AW(AW)) u_pb (.clk(clk), .we(pr_we), .waddr(pr_wa), .wdata(pr_wd), .raddr(a_addr), .rdata(pb_rd));
    qtd_ram #(.W(L*AB), .DEPTH(KGD), .AW(AW)) u_po (.clk(clk), .we(ob_we && ob_dst == D_POOL), .waddr(ob_wa), .wdata(ob_wd), .raddr(a_addr), .rdata(po_rd));
    qtd_ram #(.W(32), .DEPTH(PCH), .AW(16), .LUTRAM((LUTRAM_MEMS >> 2) & 1)) u_pbias (.clk(clk), .we(pb_we), .waddr(pch_waddr), .wdata(pw_data), .raddr(pch_raddr), .rdata(pbias_rd));
    qtd_ram #(.W(32), .DEPTH(PCH), .AW(16), .LUTRAM((LUTRAM_MEMS >> 3) & 1)) u_pmult (.clk(clk), .we(pm_we), .waddr(pch_waddr), .wdata(pw_data), .raddr(pch_raddr), .rdata(pmult_rd));
    qtd_ram #(.W(8), .DEPTH(PCH), .AW(16), .LUTRAM((LUTRAM_MEMS >> 4) & 1)) u_pshift (.clk(clk), .we(ps_we), .waddr(pch_waddr), .wdata(pw_data[7:0]), .raddr(pch_raddr), .rdata(pshift_rd));
    qtd_ram #(.W(32), .DEPTH(T*D), .AW(16), .LUTRAM((LUTRAM_MEMS >> 5) & 1)) u_inb (.clk(clk), .we(inb_we), .waddr(pw_idx), .wdata(pw_data), .raddr(inb_raddr), .rdata(inb_rd));

    // scores (T x T, element-wise), exp row, pooling sums: small, distributed RAM
    reg signed [9:0]  s_mem [0:T*T-1];
    reg [15:0]        e_mem [0:T-1];
    reg signed [31:0] pacc [0:D-1];

    // Array indices below are 16-bit counters whose used width depends on the parameters.
    /* verilator lint_off WIDTHTRUNC */
    // ---------------------------------------------------------------- sequencer
    localparam [4:0] DRAIN = 5'd16;
    reg        setup;
    reg [3:0]  nxt;
    always @(*) begin
        case (phase)
            P_IN: nxt = P_Q;     P_Q: nxt = P_K;       P_K: nxt = P_V;      P_V: nxt = P_SC;
            P_SC: nxt = P_SM;    P_SM: nxt = P_CTX;    P_CTX: nxt = P_O;    P_O: nxt = P_F1;
            P_F1: nxt = P_F2;    P_F2: nxt = P_POOL;   P_POOL: nxt = P_HEAD;
            default: nxt = P_IDLE;
        endcase
    end

    // input copy (bytes -> LANES-wide words)
    reg [15:0] xn, xk;
    reg [6:0]  xl;
    reg [AW-1:0] xa;
    reg [L*AB-1:0] xword;
    /* verilator lint_off UNUSEDSIGNAL */  // only the clamped low bits are kept
    wire [7:0] xbyte = x_flat[xn*8 +: 8];
    /* verilator lint_on UNUSEDSIGNAL */
    wire [L*AB-1:0] xword_n = put_lane(xword, xl, xbyte[AB-1:0]);

    // softmax
    localparam [1:0] SM_MAX = 2'd0, SM_EXP = 2'd1, SM_DIV = 2'd2, SM_PROB = 2'd3;
    reg [1:0]  sm_st;
    reg [15:0] sm_t, sm_u, sm_ug, sm_base;
    reg [6:0]  sm_ul;
    reg signed [9:0] sm_max;
    reg [31:0] sm_z, sm_num, sm_rem, sm_q;
    reg [4:0]  sm_bit;
    reg [L*AB-1:0] sm_word;
    wire signed [9:0] sm_sv = s_mem[sm_base + sm_u];
    wire [9:0]  sm_diff = sm_max - sm_sv;
    wire [9:0]  sm_lim = {{(9-AB){1'b0}}, lut_len} - 10'd1;
    /* verilator lint_off UNUSEDSIGNAL */  // only the clamped low bits are kept
    wire [9:0]  sm_idx = (sm_diff > sm_lim) ? sm_lim : sm_diff;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [15:0] sm_e = lut[sm_idx[AB-1:0]];
    wire [31:0] sm_zn = sm_z + {16'd0, sm_e};
    wire [31:0] sm_pmax = {22'd0, rng_hi[6]};
    wire [32:0] sm_rsh = {sm_rem, sm_num[sm_bit]};
    wire [47:0] sm_pp = ({32'd0, e_mem[sm_u]} * {16'd0, sm_q} + 48'h200000) >> 22;
    /* verilator lint_off UNUSEDSIGNAL */  // only the clamped low bits are kept
    wire [31:0] sm_pr = (sm_pp > {16'd0, sm_pmax}) ? sm_pmax : sm_pp[31:0];
    /* verilator lint_on UNUSEDSIGNAL */
    wire [L*AB-1:0] sm_word_n = put_lane(sm_word, sm_ul, sm_pr[AB-1:0]);

    always @(posedge clk) begin
        done <= 1'b0;
        xw_we <= 1'b0;
        pr_we <= 1'b0;
        if (rst || abort) begin
            phase <= P_IDLE;
            issuing <= 1'b0;
            setup <= 1'b0;
            drain <= 5'd0;
        end else begin
            case (phase)
                P_IDLE: if (start) begin
                    phase <= P_XCP;
                    xn <= 16'd0; xk <= 16'd0; xl <= 7'd0; xa <= 0; xword <= 0;
                end
                P_XCP: begin
                    if (xk == M16 - 16'd1 || xl == LM1) begin
                        xw_we <= 1'b1; xw_wa <= xa; xw_wd <= xword_n;
                        xword <= 0; xa <= xa + 1'b1; xl <= 7'd0;
                    end else begin
                        xword <= xword_n; xl <= xl + 7'd1;
                    end
                    xk <= (xk == M16 - 16'd1) ? 16'd0 : xk + 16'd1;
                    xn <= xn + 16'd1;
                    if (xn == T16 * M16 - 16'd1) begin phase <= P_IN; setup <= 1'b1; end
                end
                P_SM: begin
                    case (sm_st)
                        SM_MAX: begin
                            if (sm_u == 0 || sm_sv > sm_max) sm_max <= sm_sv;
                            if (sm_u == T16 - 16'd1) begin sm_st <= SM_EXP; sm_u <= 16'd0; sm_z <= 32'd0; end
                            else sm_u <= sm_u + 16'd1;
                        end
                        SM_EXP: begin
                            e_mem[sm_u] <= sm_e;
                            sm_z <= sm_zn;
                            if (sm_u == T16 - 16'd1) begin
                                sm_st <= SM_DIV;
                                sm_num <= (sm_pmax << 22) + (sm_zn >> 1);
                                sm_z <= sm_zn;
                                sm_rem <= 32'd0;
                                sm_bit <= 5'd31;
                            end else sm_u <= sm_u + 16'd1;
                        end
                        SM_DIV: begin
                            if (sm_rsh >= {1'b0, sm_z}) begin
                                sm_rem <= sm_rsh[31:0] - sm_z;
                                sm_q[sm_bit] <= 1'b1;
                            end else begin
                                sm_rem <= sm_rsh[31:0];
                                sm_q[sm_bit] <= 1'b0;
                            end
                            if (sm_bit == 5'd0) begin
                                sm_st <= SM_PROB; sm_u <= 16'd0; sm_ul <= 7'd0; sm_ug <= 16'd0; sm_word <= 0;
                            end else sm_bit <= sm_bit - 5'd1;
                        end
                        default: begin   // SM_PROB
                            if (sm_ul == LM1 || sm_u == T16 - 16'd1) begin
                                pr_we <= 1'b1; pr_wa <= sm_t * KGT16 + sm_ug; pr_wd <= sm_word_n;
                                sm_word <= 0; sm_ul <= 7'd0; sm_ug <= sm_ug + 16'd1;
                            end else begin
                                sm_word <= sm_word_n; sm_ul <= sm_ul + 7'd1;
                            end
                            if (sm_u == T16 - 16'd1) begin
                                sm_u <= 16'd0;
                                sm_st <= SM_MAX;
                                if (sm_t == T16 - 16'd1) begin phase <= P_CTX; setup <= 1'b1; end
                                else begin sm_t <= sm_t + 16'd1; sm_base <= sm_base + T16; end
                            end else sm_u <= sm_u + 16'd1;
                        end
                    endcase
                end
                default: begin   // matrix phases
                    if (setup) begin
                        setup <= 1'b0; issuing <= 1'b1;
                        o_c <= 16'd0; i_c <= 16'd0; kg_c <= 16'd0; ig_c <= 16'd0; il_c <= 7'd0;
                        dr_c <= 16'd0; kr_c <= 16'd0; sr_c <= 16'd0; ir_c <= 16'd0;
                        a_addr <= 0; a_row <= 0; b_addr <= c_bbase; b_row <= c_bbase;
                    end else if (issuing) begin
                        if (kg_c != c_kg - 1) begin
                            kg_c <= kg_c + 16'd1; a_addr <= a_addr + 1'b1; b_addr <= b_addr + 1'b1;
                        end else begin
                            kg_c <= 16'd0;
                            if (i_c != c_ni - 1) begin
                                i_c <= i_c + 16'd1;
                                if (il_c == LM1) begin il_c <= 7'd0; ig_c <= ig_c + 16'd1; end
                                else il_c <= il_c + 7'd1;
                                if (c_trans) begin a_addr <= a_addr + 1'b1; b_addr <= b_row; end
                                else begin a_addr <= a_row; b_addr <= b_addr + 1'b1; end
                            end else begin
                                i_c <= 16'd0; il_c <= 7'd0; ig_c <= 16'd0;
                                if (o_c != c_no - 1) begin
                                    o_c <= o_c + 16'd1;
                                    dr_c <= dr_c + kg_dst; kr_c <= kr_c + KGD16; sr_c <= sr_c + T16; ir_c <= ir_c + D16;
                                    if (c_trans) begin b_row <= b_row + c_kg; b_addr <= b_row + c_kg; a_addr <= 0; end
                                    else begin a_row <= a_row + c_kg; a_addr <= a_row + c_kg; b_addr <= c_bbase; end
                                end else begin
                                    issuing <= 1'b0; drain <= DRAIN;
                                end
                            end
                        end
                    end else if (drain != 5'd0) begin
                        drain <= drain - 5'd1;
                    end else begin
                        phase <= nxt;
                        if (nxt == P_SM) begin
                            sm_st <= SM_MAX; sm_t <= 16'd0; sm_u <= 16'd0; sm_base <= 16'd0;
                        end else if (nxt == P_IDLE) begin
                            done <= 1'b1;
                        end else setup <= 1'b1;
                    end
                end
            endcase
        end
    end

    // ---------------------------------------------------------------- MAC pipeline
    // stage M: memory words valid
    reg        m_v, m_first, m_last, m_lasti;
    reg [15:0] m_o, m_dr, m_kr, m_sr, m_ir, m_i, m_ig, m_tj;
    reg [6:0]  m_il;
    always @(posedge clk) begin
        m_v <= issuing && mac_phase && !rst && !abort;
        m_first <= (kg_c == 16'd0);
        m_last <= (kg_c == c_kg - 1);
        m_lasti <= (i_c == c_ni - 1);
        m_o <= o_c; m_dr <= dr_c; m_kr <= kr_c; m_sr <= sr_c; m_ir <= ir_c; m_i <= i_c; m_ig <= ig_c; m_il <= il_c;
        m_tj <= c_trans ? o_c : i_c;
    end
    reg [L*AB-1:0] a_word;
    reg [L*AB-1:0] bact_word;
    always @(*) begin
        case (phase)
            P_IN: a_word = xw_rd;
            P_Q, P_K, P_V: a_word = hb_rd;
            P_SC: a_word = qb_rd;
            P_CTX: a_word = pb_rd;
            P_O: a_word = cb_rd;
            P_F1: a_word = r1_rd;
            P_F2: a_word = f1_rd;
            default: a_word = po_rd;
        endcase
        bact_word = (phase == P_SC) ? kb_rd : vt_rd;
    end

    // stage P: products
    reg        p_v, p_first, p_last, p_lasti;
    reg [15:0] p_o, p_dr, p_kr, p_sr, p_ir, p_i, p_ig, p_tj;
    reg [6:0]  p_il;
    // A lane's narrow signed product as shift-and-add logic (LUTs): the DSP48E1s are kept for the
    // 33 x 32-bit requantisation and the residual multipliers (20 on an XC7S15).
    function signed [AX+BX-1:0] lane_mul;
        input signed [AX-1:0] a;
        input signed [BX-1:0] b;
        integer k;
        reg signed [AX+BX-1:0] ax, acc_m;
        begin
            ax = {{BX{a[AX-1]}}, a};
            acc_m = {(AX+BX){1'b0}};
            for (k = 0; k < BX - 1; k = k + 1) if (b[k]) acc_m = acc_m + (ax <<< k);
            if (b[BX-1]) acc_m = acc_m - (ax <<< (BX - 1));
            lane_mul = acc_m;
        end
    endfunction
    reg signed [AX+BX-1:0] p_prod [0:L-1];
    reg signed [AX+BX-1:0] m_prod [0:L-1];
    integer l;
    reg signed [AX-1:0] op_a;
    reg signed [BX-1:0] op_b;
    always @(*) begin
        for (l = 0; l < L; l = l + 1) begin
            op_a = c_aus ? $signed({1'b0, a_word[l*AB +: AB]}) : $signed({a_word[l*AB + AB - 1], a_word[l*AB +: AB]});
            if (c_bw) op_b = $signed({{(BX-WB){wm_rd[l*WB + WB - 1]}}, wm_rd[l*WB +: WB]});
            else op_b = $signed({{(BX-AB){bact_word[l*AB + AB - 1]}}, bact_word[l*AB +: AB]});
            m_prod[l] = lane_mul(op_a, op_b);
        end
    end
    always @(posedge clk) begin
        p_v <= m_v && !abort; p_first <= m_first; p_last <= m_last; p_lasti <= m_lasti;
        p_o <= m_o; p_dr <= m_dr; p_kr <= m_kr; p_sr <= m_sr; p_ir <= m_ir; p_i <= m_i; p_ig <= m_ig; p_il <= m_il; p_tj <= m_tj;
        for (l = 0; l < L; l = l + 1) p_prod[l] <= m_prod[l];
    end

    // stage S: adder tree (one level of carry chains; LANES small)
    reg        s_v, s_first, s_last, s_lasti;
    reg [15:0] s_o, s_dr, s_kr, s_sr, s_ir, s_i, s_ig, s_tj;
    reg [6:0]  s_il;
    reg signed [31:0] s_sum, tsum, acc;
    always @(*) begin
        tsum = 32'sd0;
        for (l = 0; l < L; l = l + 1) tsum = tsum + {{(32-AX-BX){p_prod[l][AX+BX-1]}}, p_prod[l]};
    end
    always @(posedge clk) begin
        s_v <= p_v && !abort; s_first <= p_first; s_last <= p_last; s_lasti <= p_lasti;
        s_o <= p_o; s_dr <= p_dr; s_kr <= p_kr; s_sr <= p_sr; s_ir <= p_ir; s_i <= p_i; s_ig <= p_ig; s_il <= p_il; s_tj <= p_tj;
        s_sum <= tsum;
    end
    wire signed [31:0] acc_in = s_first ? 32'sd0 : acc;
    wire signed [31:0] s_tot = (phase == P_POOL) ? pacc[s_i] : acc_in + s_sum;
    always @(*) begin
        pch_raddr = c_pch + s_tj;
        inb_raddr = s_ir + s_tj;   // IN phase: t = o
    end

    // requantisation pipeline R0..R5
    reg        r0_v, r0_lasti;
    reg [15:0] r0_o, r0_dr, r0_kr, r0_sr, r0_i, r0_ig;
    reg [6:0]  r0_il;
    reg signed [31:0] r0_acc;
    always @(posedge clk) begin
        r0_v <= 1'b0;
        if (s_v && !s_last) acc <= acc_in + s_sum;
        if (s_v && s_last && !abort) begin
            r0_v <= 1'b1;
            r0_acc <= s_tot;
        end
        r0_lasti <= s_lasti; r0_o <= s_o; r0_dr <= s_dr; r0_kr <= s_kr; r0_sr <= s_sr; r0_i <= s_i; r0_ig <= s_ig; r0_il <= s_il;
    end
    always @(*) skip_addr = r0_kr + r0_ig;

    reg signed [31:0] pt_m;
    reg [7:0] pt_s;
    always @(*) begin
        case (phase)
            P_SC: begin pt_m = sc_m; pt_s = sc_s; end
            P_CTX: begin pt_m = ctx_m; pt_s = ctx_s; end
            default: begin pt_m = pool_m; pt_s = pool_s; end
        endcase
    end
    wire signed [32:0] r0_bias = (c_bias == 2'd1) ? {pbias_rd[31], pbias_rd} :
                                 (c_bias == 2'd2) ? {inb_rd[31], inb_rd} : 33'sd0;

    reg        r1_v, r1_lasti;
    reg [15:0] r1_o, r1_dr, r1_sr, r1_i, r1_ig;
    reg [6:0]  r1_il;
    reg signed [32:0] r1_val;
    reg signed [31:0] r1_mul;
    reg [7:0]  r1_sh;
    always @(posedge clk) begin
        r1_v <= r0_v && !abort;
        r1_val <= {r0_acc[31], r0_acc} + r0_bias;
        r1_mul <= c_pt ? pt_m : pmult_rd;
        r1_sh <= c_pt ? pt_s : pshift_rd;
        r1_lasti <= r0_lasti; r1_o <= r0_o; r1_dr <= r0_dr; r1_sr <= r0_sr; r1_i <= r0_i; r1_ig <= r0_ig; r1_il <= r0_il;
    end

    reg        r2_v, r2_lasti;
    reg [15:0] r2_o, r2_dr, r2_sr, r2_i, r2_ig;
    reg [6:0]  r2_il;
    reg signed [63:0] r2_prod;
    reg [7:0]  r2_sh;
    reg signed [32:0] r2_val;
    reg signed [9:0] r2_skip;
    wire [L*AB-1:0] skip_word = (phase == P_O) ? hb_rd : r1_rd;
    wire [AB-1:0] skip_el = skip_word[r1_il * AB +: AB];
    always @(posedge clk) begin
        r2_v <= r1_v && !abort;
        r2_prod <= {{31{r1_val[32]}}, r1_val} * {{32{r1_mul[31]}}, r1_mul};
        r2_sh <= r1_sh;
        r2_val <= r1_val;
        r2_skip <= {{(10-AB){skip_el[AB-1]}}, skip_el};
        r2_lasti <= r1_lasti; r2_o <= r1_o; r2_dr <= r1_dr; r2_sr <= r1_sr; r2_i <= r1_i; r2_ig <= r1_ig; r2_il <= r1_il;
    end

    wire signed [63:0] lo_q = {{54{rng_lo[c_rng][9]}}, rng_lo[c_rng]};
    wire signed [63:0] hi_q = {{54{rng_hi[c_rng][9]}}, rng_hi[c_rng]};
    wire signed [63:0] r2_rnd = (r2_prod + (64'sd1 <<< (r2_sh - 8'd1))) >>> r2_sh;
    /* verilator lint_off UNUSEDSIGNAL */  // only the clamped low bits are kept
    wire signed [63:0] r2_cl = (r2_rnd < lo_q) ? lo_q : (r2_rnd > hi_q) ? hi_q : r2_rnd;
    /* verilator lint_on UNUSEDSIGNAL */

    reg        r3_v, r3_lasti;
    reg [15:0] r3_o, r3_dr, r3_sr, r3_i, r3_ig;
    reg [6:0]  r3_il;
    reg signed [9:0] r3_q, r3_skip;
    reg signed [32:0] r3_val;
    always @(posedge clk) begin
        r3_v <= r2_v && !abort;
        r3_q <= r2_cl[9:0];
        r3_skip <= r2_skip;
        r3_val <= r2_val;
        r3_lasti <= r2_lasti; r3_o <= r2_o; r3_dr <= r2_dr; r3_sr <= r2_sr; r3_i <= r2_i; r3_ig <= r2_ig; r3_il <= r2_il;
    end

    wire signed [31:0] rm0 = (c_res == 2'd1) ? r1_m0 : r2_m0;
    wire signed [31:0] rm1 = (c_res == 2'd1) ? r1_m1 : r2_m1;
    wire [7:0] rsh = (c_res == 2'd1) ? r1_s : r2_s;
    reg        r4_v, r4_lasti;
    reg [15:0] r4_o, r4_dr, r4_sr, r4_i, r4_ig;
    reg [6:0]  r4_il;
    reg signed [9:0] r4_q;
    reg signed [63:0] r4_rs;
    reg signed [32:0] r4_val;
    always @(posedge clk) begin
        r4_v <= r3_v && !abort;
        r4_rs <= {{54{r3_skip[9]}}, r3_skip} * {{32{rm0[31]}}, rm0} + {{54{r3_q[9]}}, r3_q} * {{32{rm1[31]}}, rm1};
        r4_q <= r3_q;
        r4_val <= r3_val;
        r4_lasti <= r3_lasti; r4_o <= r3_o; r4_dr <= r3_dr; r4_sr <= r3_sr; r4_i <= r3_i; r4_ig <= r3_ig; r4_il <= r3_il;
    end

    wire [3:0] res_rng = (c_res == 2'd1) ? 4'd9 : 4'd12;
    wire signed [63:0] lo_r = {{54{rng_lo[res_rng][9]}}, rng_lo[res_rng]};
    wire signed [63:0] hi_r = {{54{rng_hi[res_rng][9]}}, rng_hi[res_rng]};
    wire signed [63:0] r4_rnd = (r4_rs + (64'sd1 <<< (rsh - 8'd1))) >>> rsh;
    /* verilator lint_off UNUSEDSIGNAL */  // only the clamped low bits are kept
    wire signed [63:0] r4_cl = (r4_rnd < lo_r) ? lo_r : (r4_rnd > hi_r) ? hi_r : r4_rnd;
    /* verilator lint_on UNUSEDSIGNAL */

    reg        r5_v, r5_lasti;
    reg [15:0] r5_o, r5_dr, r5_sr, r5_i, r5_ig;
    reg [6:0]  r5_il;
    reg signed [9:0] r5_out;
    /* verilator lint_off UNUSEDSIGNAL */
    reg signed [32:0] r5_val;   // [32] unused: |y| < 2^31 by the bias saturation
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        r5_v <= r4_v && !abort;
        r5_out <= (c_res != 2'd0) ? r4_cl[9:0] : r4_q;
        r5_val <= r4_val;   // head output: int32 by the accumulator bound (model.md)
        r5_lasti <= r4_lasti; r5_o <= r4_o; r5_dr <= r4_dr; r5_sr <= r4_sr; r5_i <= r4_i; r5_ig <= r4_ig; r5_il <= r4_il;
    end

    // stage W: write the element where it belongs
    reg [L*AB-1:0] wacc;
    wire [L*AB-1:0] wacc_n = put_lane(wacc, r5_il, r5_out[AB-1:0]);
    always @(posedge clk) begin
        ob_we <= 1'b0;
        if (rst) wacc <= 0;
        else if (r5_v) begin
            case (c_dst)
                D_S: s_mem[r5_sr + r5_i] <= r5_out;
                D_Y: y_mem[r5_i] <= r5_val[31:0];
                D_PACC: pacc[r5_i] <= ((r5_o == 16'd0) ? 32'sd0 : pacc[r5_i]) + {{22{r5_out[9]}}, r5_out};
                default: begin
                    if (r5_il == LM1 || r5_lasti) begin
                        ob_we <= 1'b1;
                        ob_wa <= r5_dr + r5_ig;
                        ob_wd <= wacc_n;
                        ob_dst <= c_dst;
                        wacc <= 0;
                    end else wacc <= wacc_n;
                end
            endcase
        end
    end
    /* verilator lint_on WIDTHTRUNC */
endmodule
