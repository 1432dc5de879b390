// The USB host side of the emulated RP2040: the enumeration a Linux host sends (descriptor reads,
// SET_ADDRESS, SET_CONFIGURATION, and cdc-acm's SET_CONTROL_LINE_STATE + SET_LINE_CODING on open),
// then bulk transfers bridged to a byte stream. rp2040js's own USBCDC helper skips the descriptor
// reads and SET_LINE_CODING; this one checks every answer the way the kernel would use it.
//
// Control transfers run as a synchronous queue driven by the controller's callbacks (the emulator
// calls them from inside instruction execution): each step's next transfer starts from the
// callback that finished the previous one.

const EP0 = 0;
const PKT0 = 64;

function setup(bmRequestType, bRequest, wValue, wIndex, wLength) {
  return new Uint8Array([bmRequestType, bRequest, wValue & 0xff, wValue >> 8, wIndex & 0xff, wIndex >> 8,
    wLength & 0xff, wLength >> 8]);
}
const getDescriptor = (type, index, len, langid = 0) => setup(0x80, 6, (type << 8) | index, langid, len);

function utf16(desc) {
  let s = '';
  for (let i = 2; i + 1 < desc[0]; i += 2) s += String.fromCharCode(desc[i] | (desc[i + 1] << 8));
  return s;
}

/** Parse a configuration descriptor set: interfaces with class, and bulk endpoint numbers. */
export function parseConfig(d) {
  const out = { interfaces: [], bulkIn: -1, bulkOut: -1, notify: -1, totalLength: d[2] | (d[3] << 8) };
  let cls = -1;
  for (let i = 0; i + 1 < d.length && d[i] >= 2; i += d[i]) {
    const len = d[i], type = d[i + 1];
    if (type === 4 && len === 9) {
      cls = d[i + 5];
      out.interfaces.push({ number: d[i + 2], cls, subclass: d[i + 6], endpoints: d[i + 4] });
    } else if (type === 5 && len === 7) {
      const addr = d[i + 2], attr = d[i + 3] & 3;
      if (attr === 2 && cls === 0x0a) {
        if (addr & 0x80) out.bulkIn = addr & 0x0f; else out.bulkOut = addr & 0x0f;
      } else if (attr === 3) out.notify = addr & 0x0f;
    }
  }
  return out;
}

export class UsbHost {
  /** usb: rp2040js RPUSBController; log(obj): one JSON event line for the controller. */
  constructor(usb, log) {
    this.usb = usb;
    this.log = log;
    this.steps = [];
    this.cur = null;
    this.info = {};
    this.rx = []; // bytes from the host program waiting for the bulk OUT endpoint
    this.pendingOut = 0; // the device armed bulk OUT for this many bytes, none sent yet
    this.onSerialData = null;
    this.configured = false;
    this.resets = 0;
    usb.onUSBEnabled = () => usb.resetDevice();
    usb.onResetReceived = () => this.afterReset();
    usb.onEndpointWrite = (ep, buf) => this.endpointWrite(ep, buf);
    usb.onEndpointRead = (ep, size) => this.endpointRead(ep, size);
  }

  afterReset() {
    this.resets += 1;
    if (this.resets === 1) {
      // Linux: read the first 64 bytes of the device descriptor at address 0, reset again
      this.queue(getDescriptor(1, 0, 64), (d) => {
        this.check(d.length === 18 && d[1] === 1, 'device descriptor at address 0', d);
        this.info.maxPacket0 = d[7];
        this.usb.resetDevice();
      });
    } else if (this.resets === 2) {
      this.enumerate();
    } else {
      this.log({ event: 'bus-reset-after-enumeration', resets: this.resets });
    }
  }

  enumerate() {
    this.queue(setup(0x00, 5, 7, 0, 0), () => {}); // SET_ADDRESS 7
    this.queue(getDescriptor(1, 0, 18), (d) => {
      this.check(d.length === 18, 'device descriptor', d);
      Object.assign(this.info, {
        vid: d[8] | (d[9] << 8), pid: d[10] | (d[11] << 8), bcdDevice: d[12] | (d[13] << 8),
        iManufacturer: d[14], iProduct: d[15], iSerial: d[16], deviceClass: d[4],
      });
    });
    this.queue(getDescriptor(2, 0, 9), (d) => {
      this.check(d.length === 9 && d[1] === 2, 'configuration descriptor header', d);
      const total = d[2] | (d[3] << 8);
      this.queue(getDescriptor(2, 0, total), (full) => {
        this.check(full.length === total, 'full configuration descriptor', full);
        Object.assign(this.info, parseConfig(full));
        this.check(this.info.bulkIn > 0 && this.info.bulkOut > 0, 'CDC data interface with bulk IN/OUT', full);
      }, true);
      this.queue(getDescriptor(3, 0, 255), (s) => {
        this.check(s.length >= 4 && s[1] === 3, 'language ids', s);
        const lang = s[2] | (s[3] << 8);
        for (const [key, field] of [['manufacturer', 'iManufacturer'], ['product', 'iProduct'], ['serial', 'iSerial']]) {
          if (this.info[field]) {
            this.queue(getDescriptor(3, this.info[field], 255, lang), (str) => { this.info[key] = utf16(str); }, true);
          }
        }
        this.queue(setup(0x00, 9, 1, 0, 0), () => { this.configured = true; }, true); // SET_CONFIGURATION 1
        // cdc-acm open: DTR | RTS, then the termios line coding (921600 8N1)
        this.queue(setup(0x21, 0x22, 3, 0, 0), () => {}, true);
        this.queue(setup(0x21, 0x20, 0, 0, 7), () => {}, true, new Uint8Array([0x00, 0x10, 0x0e, 0x00, 0, 0, 8]));
        this.queue(setup(0xa1, 0x21, 0, 0, 7), (lc) => {
          this.check(lc.length === 7 && lc[0] === 0x00 && lc[1] === 0x10 && lc[2] === 0x0e, 'GET_LINE_CODING echoes SET_LINE_CODING', lc);
          this.log({ event: 'enumerated', ...this.info });
          this.kickOut();
        }, true);
      }, true);
    });
  }

  check(ok, what, data) {
    if (!ok) {
      this.log({ event: 'usb-error', what, data: Array.from(data || []) });
      throw new Error(`USB enumeration: bad ${what}`);
    }
  }

  // front = true: run right after the current step (answers that queue follow-ups)
  queue(pkt, done, front = false, outData = null) {
    const step = { pkt, done, outData, inData: [], wLength: pkt[6] | (pkt[7] << 8), dirIn: !!(pkt[0] & 0x80) };
    if (front) {
      this.front = this.front || [];
      this.front.push(step);
    } else {
      this.steps.push(step);
    }
    if (!this.cur) this.next();
  }

  next() {
    if (this.front && this.front.length) {
      this.steps.unshift(...this.front);
      this.front = [];
    }
    this.cur = this.steps.shift() || null;
    if (this.cur) this.usb.sendSetupPacket(this.cur.pkt);
  }

  finish(data) {
    const step = this.cur;
    step.done(data);
    this.cur = null;
    this.next();
  }

  finishIn() {
    const step = this.cur;
    if (step && step.dataDone && step.statusArmed) {
      this.usb.endpointReadDone(EP0, new Uint8Array(0)); // the host's OUT status stage
      this.finish(new Uint8Array(step.inData));
    }
  }

  endpointWrite(ep, buf) {
    if (ep === EP0) {
      const step = this.cur;
      if (!step) return;
      if (step.dirIn) {
        step.inData.push(...buf);
        if (buf.length < PKT0 || step.inData.length >= step.wLength) {
          step.dataDone = true;
          this.finishIn();
        }
      } else {
        this.finish(new Uint8Array(0)); // the device's zero-length IN status packet
      }
    } else if (ep === this.info.bulkIn) {
      if (process.env.QTD_EMU_DEBUG) this.log({ event: 'bulk-in', n: buf.length });
      if (this.onSerialData) this.onSerialData(buf);
    }
  }

  endpointRead(ep, size) {
    if (ep === EP0) {
      const step = this.cur;
      if (!step) return;
      if (step.dirIn) {
        step.statusArmed = true; // may come before the data packets' write alarms fire
        this.finishIn();
      } else if (step.outData) {
        this.usb.endpointReadDone(EP0, step.outData.subarray(0, size));
        step.outData = null;
      }
    } else if (ep === this.info.bulkOut) {
      if (process.env.QTD_EMU_DEBUG) this.log({ event: 'bulk-out-armed', size });
      this.pendingOut = size;
      this.kickOut();
    }
  }

  /** Bytes from the host program (the pty) toward the device. */
  write(bytes) {
    if (process.env.QTD_EMU_DEBUG) this.log({ event: 'host-out', n: bytes.length, pending: this.pendingOut, configured: this.configured });
    for (const b of bytes) this.rx.push(b);
    this.kickOut();
  }

  kickOut() {
    if (this.pendingOut && this.rx.length && this.configured) {
      const n = Math.min(this.pendingOut, this.rx.length);
      this.pendingOut = 0;
      this.usb.endpointReadDone(this.info.bulkOut, new Uint8Array(this.rx.splice(0, n)));
    }
  }
}
