//go:build !purego

#include "textflag.h"

// ROW adds row k of a full word (bit k of R12; u at d2(DI), the customer
// at d4(SI)) into the running total AX and stores it into the customer's
// slot of out (R10, R11 slots): a bit test and a borrow make the mask.
#define ROW(k, d2, d4) \
	MOVWQZX d2(DI), CX \
	SHLQ    $24, CX \
	ORQ     $1, CX \
	BTQ     k, R12 \
	SBBQ    DX, DX \
	ANDQ    DX, CX \
	ADDQ    CX, AX \
	MOVLQSX d4(SI), CX \
	CMPQ    CX, R11 \
	JAE     outside \
	MOVQ    AX, (R10)(CX*8)

// func packedTotalsAsm(cust []int32, u []uint16, sel []uint64, off int, p uint64, out []int64) (uint64, bool)
//
// Rows up to a multiple of 64 (by off+i) one at a time, then whole words
// of 64 rows unrolled (no loop, no reload of the word at each row), then
// the rest one at a time.
TEXT ·packedTotalsAsm(SB), NOSPLIT, $0-121
	MOVQ cust_base+0(FP), SI
	MOVQ cust_len+8(FP), R13
	MOVQ u_base+24(FP), DI
	MOVQ sel_base+48(FP), R8
	MOVQ off+72(FP), R9
	MOVQ p+80(FP), AX
	MOVQ out_base+88(FP), R10
	MOVQ out_len+96(FP), R11
	// R8 = &sel[off>>6], R9 = off&63: bit R9 of (R8) is row 0's.
	MOVQ R9, DX
	SHRQ $6, DX
	LEAQ (R8)(DX*8), R8
	ANDQ $63, R9

one:
	// One row: bit R9 of (R8); at a word's end, the next word.
	TESTQ R13, R13
	JZ    done
	CMPQ  R9, $64
	JNE   start
	ADDQ  $8, R8
	XORQ  R9, R9

start:
	TESTQ R9, R9
	JNZ   onebit
	CMPQ  R13, $64
	JAE   words

onebit:
	MOVQ    (R8), R12
	BTQ     R9, R12
	SBBQ    DX, DX
	MOVWQZX (DI), CX
	SHLQ    $24, CX
	ORQ     $1, CX
	ANDQ    DX, CX
	ADDQ    CX, AX
	MOVLQSX (SI), CX
	CMPQ    CX, R11
	JAE     outside
	MOVQ    AX, (R10)(CX*8)
	ADDQ    $4, SI
	ADDQ    $2, DI
	INCQ    R9
	DECQ    R13
	JMP     one

words:
	// At a word's start with 64 rows or more left.
	MOVQ (R8), R12
	ROW($0, 0, 0)
	ROW($1, 2, 4)
	ROW($2, 4, 8)
	ROW($3, 6, 12)
	ROW($4, 8, 16)
	ROW($5, 10, 20)
	ROW($6, 12, 24)
	ROW($7, 14, 28)
	ROW($8, 16, 32)
	ROW($9, 18, 36)
	ROW($10, 20, 40)
	ROW($11, 22, 44)
	ROW($12, 24, 48)
	ROW($13, 26, 52)
	ROW($14, 28, 56)
	ROW($15, 30, 60)
	ROW($16, 32, 64)
	ROW($17, 34, 68)
	ROW($18, 36, 72)
	ROW($19, 38, 76)
	ROW($20, 40, 80)
	ROW($21, 42, 84)
	ROW($22, 44, 88)
	ROW($23, 46, 92)
	ROW($24, 48, 96)
	ROW($25, 50, 100)
	ROW($26, 52, 104)
	ROW($27, 54, 108)
	ROW($28, 56, 112)
	ROW($29, 58, 116)
	ROW($30, 60, 120)
	ROW($31, 62, 124)
	ROW($32, 64, 128)
	ROW($33, 66, 132)
	ROW($34, 68, 136)
	ROW($35, 70, 140)
	ROW($36, 72, 144)
	ROW($37, 74, 148)
	ROW($38, 76, 152)
	ROW($39, 78, 156)
	ROW($40, 80, 160)
	ROW($41, 82, 164)
	ROW($42, 84, 168)
	ROW($43, 86, 172)
	ROW($44, 88, 176)
	ROW($45, 90, 180)
	ROW($46, 92, 184)
	ROW($47, 94, 188)
	ROW($48, 96, 192)
	ROW($49, 98, 196)
	ROW($50, 100, 200)
	ROW($51, 102, 204)
	ROW($52, 104, 208)
	ROW($53, 106, 212)
	ROW($54, 108, 216)
	ROW($55, 110, 220)
	ROW($56, 112, 224)
	ROW($57, 114, 228)
	ROW($58, 116, 232)
	ROW($59, 118, 236)
	ROW($60, 120, 240)
	ROW($61, 122, 244)
	ROW($62, 124, 248)
	ROW($63, 126, 252)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $8, R8
	SUBQ $64, R13
	CMPQ R13, $64
	JAE  words
	JMP  one

done:
	MOVQ AX, ret+112(FP)
	MOVB $1, ret1+120(FP)
	RET

outside:
	MOVQ AX, ret+112(FP)
	MOVB $0, ret1+120(FP)
	RET
