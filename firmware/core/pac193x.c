/* PAC193x driver: see include/qtd/pac193x.h and protocol/power.md. Register access follows the
 * datasheet's I2C protocols: "send byte" (the register pointer alone) for the REFRESH commands,
 * "write byte" (pointer + one byte: the part has no block write), and "block read" after a
 * pointer write, where the pointer advances register by register (each register keeps its own
 * width, big-endian on the wire). */
#include "qtd/pac193x.h"

#include <stddef.h>

#include "hal.h"

static const uint16_t k_rates[4] = {1024u, 256u, 64u, 8u}; /* CTRL[7:6] = 0..3 */

uint16_t qtd_pac_rate_from_ctrl(uint8_t ctrl) {
    return k_rates[(ctrl >> 6) & 3u];
}

uint8_t qtd_pac_ctrl_for_rate(uint16_t rate_sps, bool *ok) {
    for (uint8_t i = 0; i < 4u; i++) {
        if (k_rates[i] == rate_sps) {
            *ok = true;
            return (uint8_t)(i << 6);
        }
    }
    *ok = false;
    return 0;
}

/* 64 x 64 -> 128-bit product, then restoring division by c: no __int128 on the M0+. */
uint64_t qtd_pac_muldiv(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    uint64_t lo = (ll & 0xFFFFFFFFu) | (mid << 32);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    uint64_t q = 0, r = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1u : (lo >> i) & 1u;
        uint64_t carry = r >> 63;
        r = (r << 1) | bit;
        q <<= 1;
        if (carry || r >= c) {
            r -= c;
            q |= 1u;
        }
    }
    return q;
}

/* Full scales (DS20005850 §5): VBUS 32 V, VSENSE 100 mV, both over 2^16 codes (unipolar);
 * power 3.2 V^2 / Rsense over 2^28 codes. In integer units:
 *   bus_mV   = code x 32000 / 2^16
 *   I_uA     = code x 100000 uV / 2^16 / R = code x 10^11 / (2^16 x R_uohm)
 *   P_uW     = code x 3.2 W / R / 2^28 = code x 3.2x10^12 / (2^28 x R_uohm)
 *   E_nJ     = acc x 3.2x10^15 / (2^28 x R_uohm x rate)                                      */
int64_t qtd_pac_energy_nj(uint64_t acc, uint32_t shunt_uohm, uint16_t rate_sps) {
    if (shunt_uohm == 0 || rate_sps == 0)
        return 0;
    /* 3.2e15 / 2^28 = 3.2e15 / 2^19 / 2^9 = 6103515625 / 2^9 */
    uint64_t den = ((uint64_t)shunt_uohm * rate_sps) << 9;
    return (int64_t)qtd_pac_muldiv(acc, 6103515625ull, den);
}

static bool send_byte(const qtd_pac_t *pac, uint8_t reg) {
    return hal_i2c_write(pac->addr7, &reg, 1);
}

static bool write_byte(const qtd_pac_t *pac, uint8_t reg, uint8_t value) {
    uint8_t buf[2] = {reg, value};
    return hal_i2c_write(pac->addr7, buf, 2);
}

static bool block_read(const qtd_pac_t *pac, uint8_t reg, uint8_t *buf, size_t len) {
    return send_byte(pac, reg) && hal_i2c_read(pac->addr7, buf, len);
}

static uint64_t be(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

qtd_pac_err_t qtd_pac_init(qtd_pac_t *pac, uint16_t rate_sps) {
    uint8_t id[3];
    if (!block_read(pac, QTD_PAC_PID, id, sizeof id))
        return QTD_PAC_NACK;
    if (id[1] != QTD_PAC_MID_MICROCHIP || id[0] < QTD_PAC_PID_PAC1931 || id[0] > QTD_PAC_PID_PAC1931 + 3u)
        return QTD_PAC_BAD_ID;
    pac->channels = (uint8_t)(id[0] - QTD_PAC_PID_PAC1931 + 1u);
    pac->revision = id[2];
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++)
        pac->energy_nj[ch] = 0;
    pac->samples = 0;
    bool ok;
    uint8_t ctrl = qtd_pac_ctrl_for_rate(rate_sps, &ok);
    if (!ok)
        return QTD_PAC_BAD_ARG;
    /* Channels beyond the part's count, or without a shunt, are switched off: they are not
     * sampled, which also shortens the chip's conversion cycle. NEG_PWR 0: unipolar. */
    uint8_t dis = 0;
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++)
        if (ch >= pac->channels || pac->shunt_uohm[ch] == 0)
            dis |= (uint8_t)(0x80u >> ch);
    if (!write_byte(pac, QTD_PAC_CHANNEL_DIS, dis) || !write_byte(pac, QTD_PAC_NEG_PWR, 0) ||
        !write_byte(pac, QTD_PAC_CTRL, ctrl))
        return QTD_PAC_NACK;
    /* This REFRESH starts the new settings; whatever accumulated before (the POR default
     * rate, unknown start) is discarded, not counted. */
    pac->last_refresh_us = hal_time_us();
    pac->pending_reset = false;
    if (!send_byte(pac, QTD_PAC_REFRESH))
        return QTD_PAC_NACK;
    hal_delay_us(QTD_PAC_REFRESH_WAIT_US);
    uint8_t act;
    if (!block_read(pac, QTD_PAC_CTRL_ACT, &act, 1))
        return QTD_PAC_NACK;
    pac->rate_sps = qtd_pac_rate_from_ctrl(act);
    return pac->rate_sps == rate_sps ? QTD_PAC_OK : QTD_PAC_BAD_ID;
}

qtd_pac_err_t qtd_pac_refresh(qtd_pac_t *pac, bool reset) {
    /* The latched window ends at the command: its time is taken before it goes out. */
    uint64_t t = hal_time_us();
    if (!send_byte(pac, reset ? QTD_PAC_REFRESH : QTD_PAC_REFRESH_V))
        return QTD_PAC_NACK;
    pac->last_refresh_us = t;
    pac->pending_reset = reset;
    return QTD_PAC_OK;
}

qtd_pac_err_t qtd_pac_collect(qtd_pac_t *pac, qtd_pac_block_t *out) {
    uint8_t raw[QTD_PAC_BLOCK_BYTES], lat[4];
    /* CTRL_ACT..CTRL_LAT (0x21..0x24) in one read: the rate now and the latched window's. */
    if (!block_read(pac, QTD_PAC_ACC_COUNT, raw, sizeof raw) || !block_read(pac, QTD_PAC_CTRL_ACT, lat, 4))
        return QTD_PAC_NACK;
    qtd_pac_block_t b;
    const uint8_t *p = raw;
    b.acc_count = (uint32_t)be(p, 3);
    p += 3;
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++, p += 6)
        b.vpower_acc[ch] = be(p, 6);
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++, p += 2)
        b.vbus[ch] = (uint16_t)be(p, 2);
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++, p += 2)
        b.vsense[ch] = (uint16_t)be(p, 2);
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++, p += 2)
        b.vbus_avg[ch] = (uint16_t)be(p, 2);
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++, p += 2)
        b.vsense_avg[ch] = (uint16_t)be(p, 2);
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++, p += 4)
        b.vpower[ch] = (uint32_t)(be(p, 4) >> 4);
    b.window_rate_sps = qtd_pac_rate_from_ctrl(lat[3]);
    pac->rate_sps = qtd_pac_rate_from_ctrl(lat[0]);
    if (pac->pending_reset) {
        /* fold each latched window exactly once, even if it is read twice */
        for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++)
            pac->energy_nj[ch] += qtd_pac_energy_nj(b.vpower_acc[ch], pac->shunt_uohm[ch], b.window_rate_sps);
        pac->samples += b.acc_count;
        pac->pending_reset = false;
    }
    if (out)
        *out = b;
    return QTD_PAC_OK;
}

qtd_pac_err_t qtd_pac_update(qtd_pac_t *pac, bool reset, qtd_pac_block_t *out) {
    qtd_pac_err_t e = qtd_pac_refresh(pac, reset);
    if (e != QTD_PAC_OK)
        return e;
    hal_delay_us(QTD_PAC_REFRESH_WAIT_US);
    return qtd_pac_collect(pac, out);
}

qtd_pac_err_t qtd_pac_set_rate(qtd_pac_t *pac, uint16_t rate_sps) {
    bool ok;
    uint8_t ctrl = qtd_pac_ctrl_for_rate(rate_sps, &ok);
    if (!ok)
        return QTD_PAC_BAD_ARG;
    if (!write_byte(pac, QTD_PAC_CTRL, ctrl))
        return QTD_PAC_NACK;
    /* The REFRESH latches the old window (CTRL_LAT = old rate) and starts the new rate. */
    return qtd_pac_update(pac, true, NULL);
}

qtd_pac_reading_t qtd_pac_reading(const qtd_pac_t *pac, const qtd_pac_block_t *b, unsigned ch) {
    qtd_pac_reading_t r = {0, 0, 0, true};
    if (ch >= QTD_PAC_CHANNELS || pac->shunt_uohm[ch] == 0)
        return r;
    uint32_t shunt = pac->shunt_uohm[ch];
    r.bus_mv = (uint16_t)(((uint32_t)b->vbus[ch] * 32000u) >> 16);
    r.current_ua = (int32_t)qtd_pac_muldiv(b->vsense[ch], 100000000000ull, (uint64_t)shunt << 16);
    r.power_uw = (int32_t)qtd_pac_muldiv(b->vpower[ch], 3200000000000ull, (uint64_t)shunt << 28);
    r.saturated = b->vsense[ch] == 0xFFFFu || b->vbus[ch] == 0xFFFFu;
    return r;
}
