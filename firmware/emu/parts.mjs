// The emulated RP2040's wires to the virtual board's part models (parts.wasm, built from the
// same C files as hal/posix by `make rp2040-emu`):
//   SPI0 + GPIO 1 (flash CS)   -> NOR flash model, its array persisted to the flash file
//   SPI0 + GPIO 17 (fabric CS) -> virtual FPGA -> accelerator C model
//   GPIO 12 (PROG_B)           -> virtual FPGA configuration from the flash
//   GPIO 1 driven by the MCU   -> the FPGA held off the shared flash bus (the NOR model's rule)
//   I2C1                       -> PAC1934 models fed by the power model
// Which of the two SPI0 pin groups carries the bytes is read from the pins' function select,
// as the silicon would route them. Pin numbers come from the board's generated pins (pins.json).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { GPIOPinState } from 'rp2040js';

const FUNC_SPI = 1;
const driven = (s) => s === GPIOPinState.Low || s === GPIOPinState.High;
const high = (s) => s !== GPIOPinState.Low && s !== GPIOPinState.InputPullDown;

export class Parts {
  static async load(wasmPath, opts) {
    const wasi = new WASI({ version: 'preview1', env: process.env, stdout: 2, stderr: 2 });
    let exports = null;
    const mod = await WebAssembly.compile(readFileSync(wasmPath));
    const inst = await WebAssembly.instantiate(mod, {
      wasi_snapshot_preview1: wasi.wasiImport,
      env: { now_us: () => Math.floor(opts.mcu.clock.nanos / 1000) },
    });
    wasi.initialize(inst);
    exports = inst.exports;
    return new Parts(exports, opts);
  }

  constructor(x, { mcu, flashFile, dieAfter, timeScale, flashJedec, pins, log }) {
    this.x = x;
    this.mcu = mcu;
    this.log = log;
    this.pins = pins;
    const ptr = x.parts_init(timeScale || 1, dieAfter || 0, flashJedec || 0);
    const size = x.parts_flash_size();
    this.flash = () => new Uint8Array(x.memory.buffer, ptr, size);
    this.fd = this.openFlash(flashFile, size);
    this.flashSelected = false;
    this.fabricSelected = false;
    this.wireSpi();
    this.wireI2c();
  }

  /** The flash file, as hal/posix maps it: created or extended erased (0xFF) to the flash size. */
  openFlash(path, size) {
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    const have = statSync(path).size;
    const mem = this.flash();
    mem.fill(0xff);
    readSync(fd, mem, 0, Math.min(have, size), 0);
    if (have < size) {
      ftruncateSync(fd, size);
      writeSync(fd, mem, have, size - have, have);
    }
    return fd;
  }

  persist() {
    const r = this.x.parts_flash_dirty();
    if (r >= 0) {
      const lo = Math.floor(r / 4294967296), hi = r % 4294967296;
      writeSync(this.fd, this.flash(), lo, hi - lo, lo);
    }
    const fault = this.x.parts_fault();
    if (fault) {
      const mem = new Uint8Array(this.x.memory.buffer);
      const p = this.x.parts_fault_msg();
      let msg = '';
      for (let i = p; mem[i]; i++) msg += String.fromCharCode(mem[i]);
      closeSync(this.fd);
      this.log({ event: fault === 1 ? 'power-cut' : 'hardware-rule', message: msg });
      process.exit(fault === 1 ? 75 : 70); // hal/posix's QTD_EXIT_POWER_CUT / QTD_EXIT_VIOLATION
    }
  }

  wireSpi() {
    const { mcu, x, pins } = this;
    const spi = mcu.spi[0];
    spi.onTransmit = (v) => {
      let miso = 0xff;
      if (mcu.gpio[pins.flash_sck].functionSelect === FUNC_SPI && this.flashSelected) miso = x.parts_flash_byte(v);
      else if (mcu.gpio[pins.fabric_sck].functionSelect === FUNC_SPI && this.fabricSelected) miso = x.parts_fabric_byte(v);
      spi.completeTransmit(miso);
    };
    mcu.gpio[pins.flash_cs].addListener((s, old) => {
      if (driven(s) !== driven(old)) x.parts_fpga_hold_bus(driven(s) ? 1 : 0);
      const sel = s === GPIOPinState.Low;
      if (sel && !this.flashSelected) x.parts_flash_begin();
      if (!sel && this.flashSelected) {
        x.parts_flash_end();
        this.persist();
      }
      this.flashSelected = sel;
    });
    mcu.gpio[pins.fabric_cs].addListener((s) => {
      const sel = s === GPIOPinState.Low;
      if (sel && !this.fabricSelected) x.parts_fabric_begin();
      if (!sel && this.fabricSelected) x.parts_fabric_end();
      this.fabricSelected = sel;
    });
    mcu.gpio[pins.fpga_prog_b].addListener((s) => x.parts_fpga_prog_b(high(s) ? 1 : 0));
  }

  wireI2c() {
    const { mcu, x } = this;
    const i2c = mcu.i2c[1];
    const buf = () => new Uint8Array(x.memory.buffer, x.parts_i2c_buf(), 64);
    let addr = 0, mode = 0, out = [], rd = null, rdAt = 0;
    const flushWrite = () => {
      if (mode === 0 && out.length) {
        buf().set(out.slice(0, 64));
        x.parts_i2c_write(addr, Math.min(out.length, 64));
      }
      out = [];
    };
    i2c.onStart = () => { flushWrite(); i2c.completeStart(); };
    i2c.onConnect = (a, m) => {
      addr = a; mode = m; rd = null;
      const present = x.parts_i2c_write(addr, 0) !== 0; // address phase: ACK from a monitor that is there
      i2c.completeConnect(present);
    };
    i2c.onWriteByte = (v) => { out.push(v); i2c.completeWrite(true); };
    i2c.onReadByte = () => {
      if (!rd) {
        x.parts_i2c_read(addr, 64); // a read has no side effect on the part: take the burst ahead
        rd = buf().slice();
        rdAt = 0;
      }
      i2c.completeRead(rdAt < rd.length ? rd[rdAt++] : 0xff);
    };
    i2c.onStop = () => { flushWrite(); rd = null; i2c.completeStop(); };
  }
}
