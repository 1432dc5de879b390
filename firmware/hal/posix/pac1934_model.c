/* See pac1934_model.h. */
#include "pac1934_model.h"

#include <string.h>

static const uint16_t k_rates[4] = {1024u, 256u, 64u, 8u};
static pac1934_model_t *g_bus[PAC1934_MODEL_MAX];

void pac1934_model_init(pac1934_model_t *m, uint8_t addr7, const uint32_t shunt_uohm[4],
                        pac1934_sample_fn sample, void *ctx, uint64_t now_us) {
    memset(m, 0, sizeof *m);
    m->addr7 = addr7;
    memcpy(m->shunt_uohm, shunt_uohm, sizeof m->shunt_uohm);
    m->sample = sample;
    m->ctx = ctx;
    m->rev = 0x03;
    m->epoch_us = now_us;
}

static uint16_t rate(const pac1934_model_t *m) {
    return k_rates[(m->ctrl_act >> 6) & 3u];
}

static uint16_t to_code(double value, double full_scale) {
    double c = value / full_scale * 65536.0 + 0.5;
    return c <= 0 ? 0 : c >= 65535.0 ? 0xFFFFu : (uint16_t)c;
}

/* One conversion cycle: every enabled channel is converted and its VPOWER (the top 28 bits of
 * VBUS x VSENSE) added to its accumulator. */
static void convert(pac1934_model_t *m) {
    for (unsigned ch = 0; ch < 4u; ch++) {
        if (m->dis_act & (0x80u >> ch))
            continue;
        double v = 0, i = 0;
        if (m->sample)
            m->sample(m->ctx, ch, &v, &i);
        m->vbus[ch] = to_code(v, 32.0);
        m->vsense[ch] = to_code(i * (m->shunt_uohm[ch] * 1e-6), 0.1);
        uint32_t vpower = ((uint32_t)m->vbus[ch] * m->vsense[ch]) >> 4;
        m->acc[ch] = (m->acc[ch] + vpower) & 0xFFFFFFFFFFFFull;
        m->hist_vbus[ch][m->hist_n % 8u] = m->vbus[ch];
        m->hist_vsense[ch][m->hist_n % 8u] = m->vsense[ch];
    }
    m->hist_n++;
    m->count = (m->count + 1u) & 0xFFFFFFu;
    m->samples_total++;
}

void pac1934_model_advance(pac1934_model_t *m, uint64_t now_us) {
    if (m->ctrl_act & 0x20u)
        return; /* SLEEP */
    for (;;) {
        uint64_t due = m->epoch_us + (m->n_since_epoch + 1u) * 1000000u / rate(m);
        if (due > now_us)
            break;
        m->n_since_epoch++;
        convert(m);
    }
}

static uint16_t avg8(const uint16_t h[8], unsigned n) {
    unsigned k = n < 8u ? n : 8u;
    uint32_t s = 0;
    for (unsigned i = 0; i < k; i++)
        s += h[i];
    return k ? (uint16_t)(s / k) : 0;
}

static void refresh(pac1934_model_t *m, bool reset, uint64_t now_us) {
    pac1934_model_advance(m, now_us);
    for (unsigned ch = 0; ch < 4u; ch++) {
        bool off = m->dis_act & (0x80u >> ch);
        m->acc_l[ch] = off ? 0 : m->acc[ch];
        m->vbus_l[ch] = off ? 0 : m->vbus[ch];
        m->vsense_l[ch] = off ? 0 : m->vsense[ch];
        m->vbus_avg_l[ch] = off ? 0 : avg8(m->hist_vbus[ch], m->hist_n);
        m->vsense_avg_l[ch] = off ? 0 : avg8(m->hist_vsense[ch], m->hist_n);
        m->vpower_l[ch] = off ? 0 : ((uint32_t)m->vbus[ch] * m->vsense[ch]) >> 4;
    }
    m->count_l = m->count;
    m->refreshes++;
    if (!reset)
        return;
    /* REFRESH: the settings written since the last one take effect; the LAT copies record
     * what was in force for the window just latched. */
    m->ctrl_lat = m->ctrl_act, m->dis_lat = m->dis_act, m->neg_lat = m->neg_act;
    bool new_rate = (m->ctrl ^ m->ctrl_act) & 0xE0u; /* rate or SLEEP */
    m->ctrl_act = m->ctrl, m->dis_act = m->dis, m->neg_act = m->neg;
    memset(m->acc, 0, sizeof m->acc);
    m->count = 0;
    /* The conversion cycle runs free: a REFRESH does not restart it (else every window would
     * lose its fractional sample, a bias of half a sample per REFRESH). A new rate starts a new
     * cadence from the REFRESH. */
    if (new_rate)
        m->epoch_us = now_us, m->n_since_epoch = 0;
}

/* The register after reg in a multi-byte read (0x1E/0x1F, the commands, are skipped). */
static unsigned next_reg(unsigned reg) {
    if (reg == 0x1Au)
        return 0x1Cu;
    if (reg == 0x1Du)
        return 0x20u;
    if (reg == 0x26u)
        return 0xFDu;
    return reg + 1u;
}

static unsigned put_be(uint8_t *out, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8u * (n - 1u - i)));
    return n;
}

static unsigned reg_bytes(const pac1934_model_t *m, unsigned reg, uint8_t *out) {
    if (reg == 0x01u)
        return put_be(out, m->ctrl, 1);
    if (reg == 0x02u)
        return put_be(out, m->count_l, 3);
    if (reg >= 0x03u && reg <= 0x06u)
        return put_be(out, m->acc_l[reg - 0x03u], 6);
    if (reg >= 0x07u && reg <= 0x0Au)
        return put_be(out, m->vbus_l[reg - 0x07u], 2);
    if (reg >= 0x0Bu && reg <= 0x0Eu)
        return put_be(out, m->vsense_l[reg - 0x0Bu], 2);
    if (reg >= 0x0Fu && reg <= 0x12u)
        return put_be(out, m->vbus_avg_l[reg - 0x0Fu], 2);
    if (reg >= 0x13u && reg <= 0x16u)
        return put_be(out, m->vsense_avg_l[reg - 0x13u], 2);
    if (reg >= 0x17u && reg <= 0x1Au)
        return put_be(out, (uint64_t)m->vpower_l[reg - 0x17u] << 4, 4);
    const uint8_t one[] = {m->dis,     m->neg,     0,           0,          m->slow,   m->ctrl_act,
                           m->dis_act, m->neg_act, m->ctrl_lat, m->dis_lat, m->neg_lat};
    if (reg >= 0x1Cu && reg <= 0x26u)
        return put_be(out, one[reg - 0x1Cu], 1);
    if (reg == 0xFDu)
        return put_be(out, 0x5Bu, 1);
    if (reg == 0xFEu)
        return put_be(out, 0x5Du, 1);
    if (reg == 0xFFu)
        return put_be(out, m->rev, 1);
    return 0;
}

static pac1934_model_t *find(uint8_t addr7) {
    for (unsigned i = 0; i < PAC1934_MODEL_MAX; i++)
        if (g_bus[i] && g_bus[i]->addr7 == addr7)
            return g_bus[i];
    return NULL;
}

void pac1934_bus_reset(void) {
    memset(g_bus, 0, sizeof g_bus);
}

void pac1934_bus_advance(uint64_t now_us) {
    for (unsigned i = 0; i < PAC1934_MODEL_MAX; i++)
        if (g_bus[i])
            pac1934_model_advance(g_bus[i], now_us);
}

bool pac1934_bus_attach(pac1934_model_t *m) {
    for (unsigned i = 0; i < PAC1934_MODEL_MAX; i++) {
        if (!g_bus[i] || g_bus[i]->addr7 == m->addr7) {
            g_bus[i] = m;
            return true;
        }
    }
    return false;
}

bool pac1934_bus_write(uint8_t addr7, const uint8_t *buf, size_t len, uint64_t now_us) {
    pac1934_model_t *m = find(addr7);
    if (!m || len == 0)
        return m != NULL;
    pac1934_model_advance(m, now_us);
    m->ptr = buf[0];
    if (len == 1) { /* send byte: a command, or just the pointer for a following read */
        if (m->ptr == 0x00u || m->ptr == 0x1Eu)
            refresh(m, true, now_us);
        else if (m->ptr == 0x1Fu)
            refresh(m, false, now_us);
        return true;
    }
    if (len != 2)
        return false; /* no block write: the part NACKs the third byte */
    switch (m->ptr) {
        case 0x01u: m->ctrl = buf[1]; break;
        case 0x1Cu: m->dis = buf[1]; break;
        case 0x1Du: m->neg = buf[1]; break;
        case 0x20u: m->slow = buf[1]; break;
        default: return false; /* read-only register */
    }
    return true;
}

bool pac1934_bus_read(uint8_t addr7, uint8_t *buf, size_t len, uint64_t now_us) {
    pac1934_model_t *m = find(addr7);
    if (!m)
        return false;
    pac1934_model_advance(m, now_us);
    size_t got = 0;
    for (unsigned reg = m->ptr; got < len && reg <= 0xFFu; reg = next_reg(reg)) {
        uint8_t tmp[8];
        unsigned n = reg_bytes(m, reg, tmp);
        for (unsigned i = 0; i < n && got < len; i++)
            buf[got++] = tmp[i];
    }
    while (got < len)
        buf[got++] = 0xFFu; /* past the map: the bus floats high */
    return true;
}
