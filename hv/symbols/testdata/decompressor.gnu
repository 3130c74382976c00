00100000 <bzImage>: cld
00100001: testb $0x40,0x211(%esi)
00100008: jne bzImage+0x12
0010000a: cli
0010000b: mov $0x18,%eax
00100010: mov %eax,%ds
00100012: lea 0x1e4(%esi),%esp
00100018: call bzImage+0x1d
0010001d: pop %ebp
0010001e: sub $0x1d,%ebp
00100024: mov $0x1000000,%ebx
00100029: mov $0x4,%eax
0010002e: push $0x0
00100030: mov $0xc1000000,%ecx
00100035: mov %eax,0x1001000
0010003a: call bzImage+0x41
0010003f: jmp *%ebx
00100041: ret
