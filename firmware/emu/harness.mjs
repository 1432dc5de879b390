// qtd RP2040 emulator harness: the firmware's UF2 in rp2040js, its USB CDC on stdin/stdout, its
// SPI0 / I2C1 / GPIOs wired to the virtual board's part models (parts.mjs, the same C models as
// hal/posix, compiled to WebAssembly). Events and errors are JSON lines on stderr.
//
//   node harness.mjs --uf2 FILE --parts parts.wasm --flash FILE --pins JSON
//                    [--die-after-flash-ops K] [--time-scale X] [--flash-jedec 0xMMTTCC]
// --flash-jedec: the flash chip answers another JEDEC id than the board file's (a board fitted
// with another part: the firmware must refuse flash commands).
// --pins: {"flash_cs": 1, ..., "fpga_prog_b": 12} from the board file (qtdeploy.sim.rp2040).
//
// No bootrom ships with rp2040js: the harness does what the ROM does on a flash boot (RP2040
// datasheet §2.8.1.3) and nothing more: copy the first 256 bytes of flash to 0x20041F00, check
// their CRC-32, and enter them with LR = 0 and SP at the top of SRAM5. boot2 then sets up XIP
// and jumps through the vector table at 0x10000100. ROM functions (reset_usb_boot) are absent.
import { readFileSync } from 'node:fs';
import { RP2040, GPIOPinState } from 'rp2040js';
import { UsbHost } from './usb_host.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
  return acc;
}, []));
const log = (obj) => process.stderr.write(JSON.stringify(obj) + '\n');

function crc32mpeg2(data) {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b << 24;
    for (let i = 0; i < 8; i++) crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

/** The UF2's flash image, block by block (the Python side checked family and completeness). */
function loadUf2(mcu, raw) {
  for (let off = 0; off + 512 <= raw.length; off += 512) {
    const v = new DataView(raw.buffer, raw.byteOffset + off, 512);
    const addr = v.getUint32(12, true), size = v.getUint32(16, true);
    mcu.flash.set(raw.subarray(off + 32, off + 32 + size), addr - 0x10000000);
  }
}

function romBoot(mcu) {
  const boot2 = mcu.flash.subarray(0, 256);
  const want = new DataView(boot2.buffer, boot2.byteOffset).getUint32(252, true);
  if (crc32mpeg2(boot2.subarray(0, 252)) !== want) {
    log({ event: 'boot-error', reason: 'boot2 CRC mismatch: the ROM would fall back to USB boot' });
    process.exit(3);
  }
  mcu.sram.set(boot2, 0x41f00);
  mcu.core.SP = 0x20042000;
  mcu.core.LR = 0;
  mcu.core.PC = 0x20041f00;
}

export async function main() {
  const mcu = new RP2040();
  // the emulator's own log goes to stderr as events: stdout carries only the CDC byte stream
  const note = (level) => (component, message) => log({ event: 'emulator', level, component, message });
  mcu.logger = { debug: () => {}, info: () => {}, warn: note('warn'), error: note('error') };
  loadUf2(mcu, readFileSync(args.uf2));
  let parts = null;
  if (args.parts) {
    const { Parts } = await import('./parts.mjs');
    parts = await Parts.load(args.parts, {
      mcu, flashFile: args.flash, pins: JSON.parse(args.pins), log,
      dieAfter: Number(args['die-after-flash-ops'] || 0), timeScale: Number(args['time-scale'] || 1),
      flashJedec: Number(args['flash-jedec'] || 0),
    });
  }
  const usb = new UsbHost(mcu.usbCtrl, log);
  usb.onSerialData = (buf) => process.stdout.write(buf);
  process.stdin.on('data', (chunk) => usb.write(chunk));
  process.stdin.on('end', () => process.exit(0));
  mcu.peripherals[0x40058].onWatchdogTrigger = () => {
    log({ event: 'watchdog-reset' });
    process.exit(4); // the controller restarts the chip, as the watchdog would (flash keeps its bytes)
  };
  romBoot(mcu);
  log({ event: 'boot', via: 'boot2 at 0x20041F00 (no bootrom)' });
  const cycleNanos = 1e9 / 125e6;
  let chunks = 0, lastCycles = 0, lastT = performance.now();
  // Virtual time never runs ahead of wall time: while the firmware sleeps (WFI in its idle read)
  // the clock jumps to the next alarm, but no further than the wall clock since boot, so timed
  // work (power samples, timeouts) keeps real-time pace and an idle board costs no CPU. Busy,
  // the emulator is slower than real time (~0.12x here) and simply runs flat out.
  const wall0 = performance.now();
  const run = () => {
    const clock = mcu.clock;
    for (let i = 0; i < 200000; i++) {
      if (mcu.core.waiting) {
        const ahead = clock.nanos + clock.nanosToNextAlarm - (performance.now() - wall0) * 1e6;
        if (ahead > 0) {
          setTimeout(run, Math.max(1, Math.ceil(ahead / 1e6)));
          return;
        }
        const n = clock.nanosToNextAlarm;
        clock.tick(n);
        i += n / cycleNanos;
      } else {
        clock.tick(mcu.core.executeInstruction() * cycleNanos);
      }
    }
    if (args.peek) log({ event: 'peek', words: String(args.peek).split(',').map((a) => mcu.readUint32(parseInt(a, 16)).toString(16)) });
    if (args.speed && (++chunks % 50) === 0) {
      const now = performance.now();
      log({ event: 'speed', mips: (mcu.core.cycles - lastCycles) / (now - lastT) / 1000, virtual_us: Math.floor(clock.nanos / 1000) });
      lastCycles = mcu.core.cycles; lastT = now;
    }
    if (args['trace-pc']) log({ event: 'pc', pc: mcu.core.PC.toString(16), us: Math.floor(clock.nanos / 1000) });
    setImmediate(run);
  };
  run();
}

main().catch((e) => { log({ event: 'fatal', error: String(e && e.stack || e) }); process.exit(2); });
