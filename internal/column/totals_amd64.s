//go:build !purego

#include "textflag.h"

// func packedTotalsAsm(cust []int32, u []uint16, sel []uint64, off int, p uint64, out []int64) (uint64, bool)
TEXT ·packedTotalsAsm(SB), NOSPLIT, $0-121
	MOVQ cust_base+0(FP), SI
	MOVQ cust_len+8(FP), R13
	MOVQ u_base+24(FP), DI
	MOVQ sel_base+48(FP), R8
	MOVQ off+72(FP), R9
	MOVQ p+80(FP), AX
	MOVQ out_base+88(FP), R10
	MOVQ out_len+96(FP), R11
	TESTQ R13, R13
	JZ    done
	// R12 = sel[off>>6] >> (off&63): the first word's bits from row 0.
	MOVQ R9, DX
	SHRQ $6, DX
	MOVQ (R8)(DX*8), R12
	MOVQ R9, CX
	SHRQ CX, R12
	XORQ BX, BX

loop:
	CMPQ BX, R13
	JGE  done
	LEAQ (R9)(BX*1), DX
	TESTQ $63, DX
	JNZ  bit
	SHRQ $6, DX
	MOVQ (R8)(DX*8), R12

bit:
	MOVQ    R12, DX
	ANDQ    $1, DX
	NEGQ    DX
	SHRQ    $1, R12
	MOVWQZX (DI)(BX*2), CX
	SHLQ    $24, CX
	ORQ     $1, CX
	ANDQ    DX, CX
	ADDQ    CX, AX
	MOVLQSX (SI)(BX*4), CX
	CMPQ    CX, R11
	JAE     outside
	MOVQ    AX, (R10)(CX*8)
	INCQ    BX
	JMP     loop

done:
	MOVQ AX, ret+112(FP)
	MOVB $1, ret1+120(FP)
	RET

outside:
	MOVQ AX, ret+112(FP)
	MOVB $0, ret1+120(FP)
	RET
