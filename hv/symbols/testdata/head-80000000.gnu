01000000 <startup_32 (load address)>: mov $pa(stack_end),%esp
01000005: mov $pa(lguest_data),%edx
0100000a: mov $0x4,%eax
0100000f: push $0x0
01000011: jmp lguest_entry
01000016 <lguest_entry (load address)>: mov $0x0,%eax
0100001b: mov $lguest_data,%ebx
01000020: int $0x1f
01000022: ret
01000023 <helper (load address)>: nop
01000024: ret
01000025 <after_helper (load address)>: ret
--- at the link address
81000000 <startup_32>: mov $pa(stack_end),%esp
81000005: mov $pa(lguest_data),%edx
8100000a: mov $0x4,%eax
8100000f: push $0x0
81000011: jmp pa(lguest_entry)
81000016 <lguest_entry>: mov $0x0,%eax
8100001b: mov $lguest_data,%ebx
81000020: int $0x1f
81000022: ret
81000023 <helper>: nop
81000024: ret
81000025 <after_helper>: ret
