// Package flbabi reads a private layout of Fluent Bit out of Fluent Bit's own
// exported code, so that the plugin works on every version it meets without
// a table of offsets per release and build options.
//
// Fluent Bit gives Go plugins no configuration map: the keys of an [INPUT]
// that Fluent Bit does not read itself are kept in the instance's property
// list, and a Go plugin can only ask for keys it already knows
// (flb_input_get_property). To refuse a misspelt key the plugin must list
// them, which needs the offset of that list in struct flb_input_instance; it
// differs between releases (0x1a0 in 3.2 and 4.0, 0x1a8 in 5.1) and with the
// build options. flb_input_get_property is, in every release,
//
//	return flb_config_prop_get(key, &ins->properties);
//
// which an optimising compiler turns into two instructions: add the offset
// to the second argument, tail-call flb_config_prop_get. PropertiesOffset
// reads the offset from them, and accepts nothing else.
package flbabi

import "encoding/binary"

// CodeLen is how many bytes of flb_input_get_property PropertiesOffset reads.
const CodeLen = 12

// maxOffset bounds the offset: struct flb_input_instance is a few KB.
const maxOffset = 1 << 14

// PropertiesOffset returns the offset of the property list in struct
// flb_input_instance, decoded from code, the first CodeLen bytes of
// flb_input_get_property at address fn; target is flb_config_prop_get's
// address, which the tail call must reach. ok is false for any other shape
// (a debug build, another compiler, an architecture it does not know): the
// caller must then leave the list alone.
func PropertiesOffset(arch string, code []byte, fn, target uintptr) (off int, ok bool) {
	if len(code) < CodeLen {
		return 0, false
	}
	switch arch {
	case "amd64":
		off, ok = amd64(code, fn, target)
	case "arm64":
		off, ok = arm64(code, fn, target)
	}
	if !ok || off <= 0 || off >= maxOffset || off%8 != 0 {
		return 0, false
	}
	return off, true
}

// amd64: add $imm, %rsi (48 83 c6 ib, or 48 81 c6 id); jmp rel32 (e9).
func amd64(code []byte, fn, target uintptr) (int, bool) {
	if code[0] != 0x48 || code[2] != 0xc6 {
		return 0, false
	}
	var off, n int
	switch code[1] {
	case 0x83:
		off, n = int(int8(code[3])), 4
	case 0x81:
		off, n = int(int32(binary.LittleEndian.Uint32(code[3:]))), 7
	default:
		return 0, false
	}
	if code[n] != 0xe9 {
		return 0, false
	}
	rel := int32(binary.LittleEndian.Uint32(code[n+1:]))
	if fn+uintptr(n+5)+uintptr(int64(rel)) != target {
		return 0, false
	}
	return off, true
}

// arm64: add x1, x1, #imm{, lsl #12}; b target.
func arm64(code []byte, fn, target uintptr) (int, bool) {
	add := binary.LittleEndian.Uint32(code)
	b := binary.LittleEndian.Uint32(code[4:])
	if add&0xff800000 != 0x91000000 || add&0x1f != 1 || (add>>5)&0x1f != 1 {
		return 0, false
	}
	off := int((add >> 10) & 0xfff)
	if add&(1<<22) != 0 {
		off <<= 12
	}
	if b&0xfc000000 != 0x14000000 {
		return 0, false
	}
	rel := int64(int32(b<<6)>>6) * 4 // imm26, sign-extended, in words
	if fn+4+uintptr(rel) != target {
		return 0, false
	}
	return off, true
}
