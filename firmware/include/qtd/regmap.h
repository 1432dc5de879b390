/* MCU <-> FPGA fabric register access, the part the firmware needs from protocol/regmap.md:
 * SPI mode 1, a command byte, a 16-bit big-endian register address, then 32-bit data.
 *
 * PROVISIONAL until protocol/regmap.md lands: the opcodes, addresses and the ID value below are
 * this firmware's assumption, shared with the virtual FPGA (hal/posix/fpga_model.c) through
 * this one header so that a change is made in one place. */
#ifndef QTD_REGMAP_H
#define QTD_REGMAP_H

#define QTD_REG_CMD_READ 0x0Bu   /* then addr[15:8], addr[7:0]; 4 data bytes, little-endian */
#define QTD_REG_CMD_WRITE 0x02u  /* then addr[15:8], addr[7:0], 4 data bytes, little-endian */

#define QTD_REG_ID 0x0000u       /* reads QTD_REG_ID_VALUE when our accelerator is in the fabric */
#define QTD_REG_ABI 0x0004u      /* accelerator ABI (the bitstream's USR_ACCESS value) */
#define QTD_REG_ID_VALUE 0x51544441u /* "QTDA" */

#endif /* QTD_REGMAP_H */
