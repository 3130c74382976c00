package pci

import "encoding/binary"

// Offsets in the Launcher's struct pci_config (4.x spec §4): the type 0
// header, then the five capabilities it links from 0x40.
const (
	cfgVendor      = 0x00
	cfgDevice      = 0x02
	cfgCommand     = 0x04
	cfgStatus      = 0x06
	cfgRevision    = 0x08
	cfgSubclass    = 0x0A
	cfgClass       = 0x0B
	cfgCacheLine   = 0x0C
	cfgBAR0        = 0x10
	cfgBAR6End     = 0x28 // one past bar[5]; the Launcher's "<= bar[6]" includes cardbus_cis_ptr at 0x28
	cfgSubsysVend  = 0x2C
	cfgSubsysDev   = 0x2E
	cfgExpROM      = 0x30
	cfgCapPtr      = 0x34
	cfgIRQLine     = 0x3C
	cfgIRQPin      = 0x3D
	capCommon      = 0x40 // struct virtio_pci_cap, 16 bytes
	capNotify      = 0x50 // struct virtio_pci_notify_cap, 20 bytes
	capISR         = 0x64
	capDevice      = 0x74
	capCfgAccess   = 0x84 // struct virtio_pci_cfg_cap, 20 bytes
	cfgAccessBAR   = capCfgAccess + 4
	cfgAccessOff   = capCfgAccess + 8
	cfgAccessLen   = capCfgAccess + 12
	cfgAccessData  = capCfgAccess + 16
	configSize     = 0x98 // sizeof(struct pci_config)
	statusCapList  = 1 << 4
	vendorVirtio   = 0x1AF4
	deviceVirtio   = 0x1040 // + virtio device type
	vndrCapability = 0x09   // PCI_CAP_ID_VNDR

	// virtio_pci_cap cfg_type values.
	CapCommonCfg = 1
	CapNotifyCfg = 2
	CapISRCfg    = 3
	CapDeviceCfg = 4
	CapPCICfg    = 5
)

// Offsets in the Launcher's struct virtio_pci_mmio (BAR0).
const (
	mDeviceFeatureSelect = 0
	mDeviceFeature       = 4
	mGuestFeatureSelect  = 8
	mGuestFeature        = 12
	mMSIXConfig          = 16
	mNumQueues           = 18
	mDeviceStatus        = 20
	mConfigGeneration    = 21
	mQueueSelect         = 22
	mQueueSize           = 24
	mQueueMSIXVector     = 26
	mQueueEnable         = 28
	mQueueNotifyOff      = 30
	mQueueDescLo         = 32
	mQueueDescHi         = 36
	mQueueAvailLo        = 40
	mQueueAvailHi        = 44
	mQueueUsedLo         = 48
	mQueueUsedHi         = 52
	mNotify              = 56
	mISR                 = 58
	mPadding             = 59
	mDeviceConfig        = 60 // sizeof(struct virtio_pci_mmio)

	// The per-queue part of the common config (save_vq_config).
	mQueueFirst = mQueueSize
	mQueueEnd   = mNotify
)

// Virtio status bits (include/uapi/linux/virtio_config.h).
const (
	StatusAcknowledge = 1
	StatusDriver      = 2
	StatusDriverOK    = 4
	StatusFeaturesOK  = 8
	StatusFailed      = 0x80
)

// FeatureVersion1 is VIRTIO_F_VERSION_1, offered by every 4.x device.
const FeatureVersion1 = 32

func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func get16(b []byte, off int) uint16    { return binary.LittleEndian.Uint16(b[off:]) }
func get32(b []byte, off int) uint32    { return binary.LittleEndian.Uint32(b[off:]) }

// initCap is the Launcher's init_cap.
func initCap(cfg []byte, at, length int, typ uint8, barOff, barLen uint32, next int) {
	cfg[at] = vndrCapability
	cfg[at+1] = uint8(next)
	cfg[at+2] = uint8(length)
	cfg[at+3] = typ
	cfg[at+4] = 0 // bar 0
	put32(cfg, at+8, barOff)
	put32(cfg, at+12, barLen)
}

// initConfig is init_pci_config plus set_device_config's sewing in of the
// device capability: IDs, status, the capability chain over BAR0.
func initConfig(cfg []byte, typ uint8, class, subclass uint8, configLen int) {
	put16(cfg, cfgVendor, vendorVirtio)
	put16(cfg, cfgDevice, deviceVirtio+uint16(typ))
	cfg[cfgClass] = class
	cfg[cfgSubclass] = subclass
	cfg[cfgRevision] = 1
	put16(cfg, cfgSubsysDev, 0x40)
	put16(cfg, cfgStatus, statusCapList)
	cfg[cfgCapPtr] = capCommon
	initCap(cfg, capCommon, 16, CapCommonCfg, mDeviceFeatureSelect, mNotify, capNotify)
	initCap(cfg, capNotify, 20, CapNotifyCfg, mNotify, 2, capISR)
	// notify_off_multiplier stays 0: every queue's notify_off is 0.
	initCap(cfg, capISR, 16, CapISRCfg, mISR, 1, capCfgAccess)
	initCap(cfg, capDevice, 16, CapDeviceCfg, 0, 0, 0)
	initCap(cfg, capCfgAccess, 20, CapPCICfg, 0, 0, 0)
	if configLen > 0 {
		// set_device_config: ISR -> device -> cfg_access.
		cfg[capISR+1] = capDevice
		put32(cfg, capDevice+8, mDeviceConfig)
		put32(cfg, capDevice+12, uint32(configLen))
		cfg[capDevice+1] = capCfgAccess
	}
}

// ioWrite is the Launcher's iowrite: val's masked bytes land at byte
// portoff of the 32-bit word.
func ioWrite(portoff uint32, val, mask uint32, word uint32) uint32 {
	word &^= mask << (portoff * 8)
	return word | (val&mask)<<(portoff*8)
}

// ioRead is ioread: the masked bytes at portoff of the word.
func ioRead(portoff uint32, word, mask uint32) uint32 {
	return (word >> (portoff * 8)) & mask
}
