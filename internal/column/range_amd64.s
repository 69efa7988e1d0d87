//go:build !purego

#include "textflag.h"

// RANGE4 tests the 32 values at off(SI), eight to a register: m0..m3
// get a bit per value, set when it is outside the range (Y0 lo, Y1 the
// biased width, Y2 the bias).
#define RANGE4(off, m0, m1, m2, m3) \
	VMOVDQU   off(SI), Y3 \
	VMOVDQU   off+32(SI), Y4 \
	VMOVDQU   off+64(SI), Y5 \
	VMOVDQU   off+96(SI), Y6 \
	VPSUBD    Y0, Y3, Y3 \
	VPSUBD    Y0, Y4, Y4 \
	VPSUBD    Y0, Y5, Y5 \
	VPSUBD    Y0, Y6, Y6 \
	VPXOR     Y2, Y3, Y3 \
	VPXOR     Y2, Y4, Y4 \
	VPXOR     Y2, Y5, Y5 \
	VPXOR     Y2, Y6, Y6 \
	VPCMPGTD  Y1, Y3, Y3 \
	VPCMPGTD  Y1, Y4, Y4 \
	VPCMPGTD  Y1, Y5, Y5 \
	VPCMPGTD  Y1, Y6, Y6 \
	VMOVMSKPS Y3, m0 \
	VMOVMSKPS Y4, m1 \
	VMOVMSKPS Y5, m2 \
	VMOVMSKPS Y6, m3

// func rangeInt32sAVX2(vals []int32, lo int32, width uint32, out []uint64)
//
// For each block of 64 values, out's word has bit j set when
// uint32(vals[j]-lo) <= width. len(vals) is a multiple of 64 and out has
// len(vals)/64 words. The unsigned compare is a signed one on values
// biased by 1<<31: eight lanes per register, eight registers per word.
TEXT ·rangeInt32sAVX2(SB), NOSPLIT, $0-56
	MOVQ vals_base+0(FP), SI
	MOVQ vals_len+8(FP), CX
	MOVQ out_base+32(FP), DI
	MOVL lo+24(FP), AX
	MOVL AX, X0
	VPBROADCASTD X0, Y0
	MOVL width+28(FP), AX
	XORL $0x80000000, AX
	MOVL AX, X1
	VPBROADCASTD X1, Y1
	MOVL $0x80000000, AX
	MOVL AX, X2
	VPBROADCASTD X2, Y2
	SHRQ $6, CX
	JZ   done

loop:
	RANGE4(0, R8, R9, R10, R11)
	SHLQ $8, R9
	SHLQ $16, R10
	SHLQ $24, R11
	ORQ  R9, R8
	ORQ  R10, R8
	ORQ  R11, R8
	RANGE4(128, R9, R10, R11, R12)
	SHLQ $32, R9
	SHLQ $40, R10
	SHLQ $48, R11
	SHLQ $56, R12
	ORQ  R9, R8
	ORQ  R10, R8
	ORQ  R11, R8
	ORQ  R12, R8

	// The masks mark the values outside the range.
	NOTQ R8
	MOVQ R8, (DI)
	ADDQ $256, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// BYTES2 loads the 64 bytes at off(SI) into Y3 and Y4.
#define BYTES2(off) \
	VMOVDQU off(SI), Y3 \
	VMOVDQU off+32(SI), Y4

// WORD64 stores the high bits of the bytes of Y3 (the low half) and Y4
// as one word at (DI).
#define WORD64 \
	VPMOVMSKB Y3, R8 \
	VPMOVMSKB Y4, R9 \
	SHLQ      $32, R9 \
	ORQ       R9, R8 \
	MOVQ      R8, (DI)

// func rangeBytesAVX2(vals []uint8, lo, width uint8, out []uint64)
//
// For each block of 64 bytes, out's word has bit j set when
// vals[j]-lo (modulo 256) <= width: the difference d is at most width
// exactly when min(d, width) == d. len(vals) is a multiple of 64 and out
// has len(vals)/64 words.
TEXT ·rangeBytesAVX2(SB), NOSPLIT, $0-56
	MOVQ vals_base+0(FP), SI
	MOVQ vals_len+8(FP), CX
	MOVQ out_base+32(FP), DI
	MOVBLZX lo+24(FP), AX
	MOVL AX, X0
	VPBROADCASTB X0, Y0
	MOVBLZX width+25(FP), AX
	MOVL AX, X1
	VPBROADCASTB X1, Y1
	SHRQ $6, CX
	JZ   rbdone

rbloop:
	BYTES2(0)
	VPSUBB  Y0, Y3, Y3
	VPSUBB  Y0, Y4, Y4
	VPMINUB Y1, Y3, Y5
	VPMINUB Y1, Y4, Y6
	VPCMPEQB Y5, Y3, Y3
	VPCMPEQB Y6, Y4, Y4
	WORD64
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  rbloop

rbdone:
	VZEROUPPER
	RET

// func codeBytes16AVX2(codes []uint8, table *[16]uint8, out []uint64)
//
// For each block of 64 codes, out's word has bit j set when codes[j] is
// below 16 and table[codes[j]] has its high bit: a byte shuffle looks the
// codes up, and gives 0 for a code with its high bit set (NoCode). The
// caller ensures that no code from 16 to 127 occurs. len(codes) is a
// multiple of 64 and out has len(codes)/64 words.
TEXT ·codeBytes16AVX2(SB), NOSPLIT, $0-56
	MOVQ codes_base+0(FP), SI
	MOVQ codes_len+8(FP), CX
	MOVQ table+24(FP), AX
	MOVQ out_base+32(FP), DI
	VBROADCASTI128 (AX), Y0
	SHRQ $6, CX
	JZ   cbdone

cbloop:
	BYTES2(0)
	VPSHUFB Y3, Y0, Y3
	VPSHUFB Y4, Y0, Y4
	WORD64
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  cbloop

cbdone:
	VZEROUPPER
	RET

// func rangeUint16sAVX2(vals []uint16, lo, width uint16, out []uint64)
//
// For each block of 64 values, out's word has bit j set when
// vals[j]-lo (modulo 2^16) <= width: min(d, width) == d, as
// rangeBytesAVX2 does for bytes. The compares' words are packed to bytes
// (a pack works within each 128-bit lane: a permutation of the quarters
// puts them back in order) and their high bits read off. len(vals) is a
// multiple of 64 and out has len(vals)/64 words.
TEXT ·rangeUint16sAVX2(SB), NOSPLIT, $0-56
	MOVQ    vals_base+0(FP), SI
	MOVQ    vals_len+8(FP), CX
	MOVQ    out_base+32(FP), DI
	MOVWLZX lo+24(FP), AX
	MOVL    AX, X0
	VPBROADCASTW X0, Y0
	MOVWLZX width+26(FP), AX
	MOVL    AX, X1
	VPBROADCASTW X1, Y1
	SHRQ    $6, CX
	JZ      r16done

r16loop:
	VMOVDQU   0(SI), Y3
	VMOVDQU   32(SI), Y4
	VMOVDQU   64(SI), Y5
	VMOVDQU   96(SI), Y6
	VPSUBW    Y0, Y3, Y3
	VPSUBW    Y0, Y4, Y4
	VPSUBW    Y0, Y5, Y5
	VPSUBW    Y0, Y6, Y6
	VPMINUW   Y1, Y3, Y7
	VPMINUW   Y1, Y4, Y8
	VPMINUW   Y1, Y5, Y9
	VPMINUW   Y1, Y6, Y10
	VPCMPEQW  Y7, Y3, Y3
	VPCMPEQW  Y8, Y4, Y4
	VPCMPEQW  Y9, Y5, Y5
	VPCMPEQW  Y10, Y6, Y6
	VPACKSSWB Y4, Y3, Y3
	VPACKSSWB Y6, Y5, Y5
	VPERMQ    $0xD8, Y3, Y3
	VPERMQ    $0xD8, Y5, Y5
	VPMOVMSKB Y3, R8
	VPMOVMSKB Y5, R9
	SHLQ      $32, R9
	ORQ       R9, R8
	MOVQ      R8, (DI)
	ADDQ      $128, SI
	ADDQ      $8, DI
	DECQ      CX
	JNZ       r16loop

r16done:
	VZEROUPPER
	RET
