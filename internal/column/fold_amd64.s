//go:build !purego

#include "textflag.h"

// func foldBlocksAVX2(s []byte, i, last int, or0, eq0, orN, eqN byte) (at int, mask uint32)
TEXT ·foldBlocksAVX2(SB), NOSPLIT, $0-60
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), DX
	MOVQ i+24(FP), AX
	MOVQ last+32(FP), BX
	VPBROADCASTB or0+40(FP), Y0
	VPBROADCASTB eq0+41(FP), Y1
	VPBROADCASTB orN+42(FP), Y2
	VPBROADCASTB eqN+43(FP), Y3

	// R8 is the last start of a whole block: len - last - 32. DI points
	// at the needle's last byte of position 0.
	MOVQ DX, R8
	SUBQ BX, R8
	SUBQ $32, R8
	LEAQ (SI)(BX*1), DI

loop:
	CMPQ AX, R8
	JGT  none
	VMOVDQU (SI)(AX*1), Y4
	VMOVDQU (DI)(AX*1), Y5
	VPOR    Y0, Y4, Y4
	VPOR    Y2, Y5, Y5
	VPCMPEQB Y1, Y4, Y4
	VPCMPEQB Y3, Y5, Y5
	VPAND   Y4, Y5, Y4
	VPMOVMSKB Y4, R9
	TESTL   R9, R9
	JNZ     found
	ADDQ    $32, AX
	JMP     loop

found:
	VZEROUPPER
	MOVQ AX, at+48(FP)
	MOVL R9, mask+56(FP)
	RET

none:
	VZEROUPPER
	MOVQ AX, at+48(FP)
	MOVL $0, mask+56(FP)
	RET
