01000000 <startup_32 (load address)>: mov $pa(stack_end),%esp
01000005: mov $pa(lguest_data),%edx
0100000a: mov $0x4,%eax
0100000f: push $0x0
01000011: jmp 0x41000016
01000016 <lguest_entry (load address)>: mov $0x0,%eax
0100001b: mov $lguest_data,%ebx
01000020: int $0x1f
01000022: ret
01000023 <helper (load address)>: nop
01000024: ret
01000025 <after_helper (load address)>: ret
--- at the link address
c1000000 <startup_32>: mov $pa(stack_end),%esp
c1000005: mov $pa(lguest_data),%edx
c100000a: mov $0x4,%eax
c100000f: push $0x0
c1000011: jmp pa(lguest_entry)
c1000016 <lguest_entry>: mov $0x0,%eax
c100001b: mov $lguest_data,%ebx
c1000020: int $0x1f
c1000022: ret
c1000023 <helper>: nop
c1000024: ret
c1000025 <after_helper>: ret
