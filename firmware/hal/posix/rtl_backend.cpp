// The Verilated rtl/qtd_top as the virtual board's FPGA fabric (`qtd-virtual-board --fpga rtl`).
//
// One shared library per accelerator design: the RTL's shape is Verilog parameters, so
// qtdeploy.sim.rtl verilates rtl/ once per design descriptor (cached) and links this shim into
// it; rtl_backend.c loads the library when the virtual FPGA is configured with that design.
// The shim is the SPI master's pins: mode 1, MSB first, SCLK at 1/8 of the engine clock, the
// default timing of the cocotb bench's SpiMaster (tests/rtl/spi_master.py), so the fabric sees
// what the RTL tests drive. A choice, not a limit: the RTL's SPI slave shifts in the SCLK domain
// and is tested up to SCLK = 100 MHz against the 100 MHz engine clock (rtl/README.md).
#include <cstddef>
#include <cstdint>

#include "Vqtd_top.h"
#include "Vqtd_top___024root.h"
#include "verilated.h"

namespace {

VerilatedContext *g_ctx;
Vqtd_top *g_top;
uint64_t g_cycles;
bool g_iprog;  // the design pulsed `iprog` (MULTIBOOT_TRIGGER with the key): its ICAPE2 runs IPROG
constexpr int kHalf = 4;  // engine clocks per half SCLK period

void tick() {
    g_top->clk = 0;
    g_top->eval();
    g_top->clk = 1;
    g_top->eval();
    g_cycles++;
    g_iprog = g_iprog || g_top->iprog;
}

void clocks(uint64_t n) {
    while (n--) {
        tick();
    }
}

// The engine's BUSY flag (qtd_top's `busy` register), where Verilator keeps it; if a later RTL
// renames it, every call says "busy" and the engine simply runs for the whole time given.
template <typename R>
auto busy_of(R *r, int) -> decltype(static_cast<bool>(r->qtd_top__DOT__busy)) {
    return r->qtd_top__DOT__busy != 0;
}
template <typename R>
bool busy_of(R *, long) {
    return true;
}

uint8_t byte_xfer(uint8_t mosi) {
    uint8_t rx = 0;
    for (int bit = 7; bit >= 0; --bit) {
        g_top->spi_sclk = 1;
        g_top->spi_mosi = (mosi >> bit) & 1u;
        clocks(kHalf);
        rx = static_cast<uint8_t>((rx << 1) | (g_top->spi_miso & 1u));
        g_top->spi_sclk = 0;
        clocks(kHalf);
    }
    return rx;
}

}  // namespace

extern "C" {

// Power-on: a fresh design (registers and memories at their reset values).
int qtd_rtl_open(void) {
    g_ctx = new VerilatedContext;
    g_top = new Vqtd_top{g_ctx};
    g_cycles = 0;
    g_iprog = false;
    g_top->spi_cs_n = 1;
    g_top->spi_sclk = 0;
    g_top->spi_mosi = 0;
    g_top->rst = 1;
    clocks(5);
    g_top->rst = 0;
    clocks(5);
    return 1;
}

void qtd_rtl_close(void) {
    if (g_top != nullptr) {
        g_top->final();
        delete g_top;
        delete g_ctx;
        g_top = nullptr;
        g_ctx = nullptr;
    }
}

// One CS-low transaction, full duplex: MISO for every MOSI byte.
void qtd_rtl_spi(const uint8_t *mosi, uint8_t *miso, size_t n) {
    g_top->spi_cs_n = 0;
    clocks(2 * kHalf);
    for (size_t i = 0; i < n; i++) {
        miso[i] = byte_xfer(mosi[i]);
    }
    clocks(kHalf);
    g_top->spi_cs_n = 1;
    clocks(12);
}

// Let the engine clock run for up to n cycles of virtual time, stopping once the engine is idle
// (idle clocks change nothing; simulating them only makes the simulation lag the clock).
void qtd_rtl_run(uint64_t n) {
    while (n > 0 && busy_of(g_top->rootp, 0)) {
        uint64_t k = n < 64 ? n : 64;
        clocks(k);
        n -= k;
    }
}

uint64_t qtd_rtl_cycles(void) { return g_cycles; }

// 1 once after the design started its IPROG sequence (qtd_iprog: WBSTAR <- MULTIBOOT_ADDR, IPROG).
int qtd_rtl_take_iprog(void) {
    int seen = g_iprog ? 1 : 0;
    g_iprog = false;
    return seen;
}

}  // extern "C"
