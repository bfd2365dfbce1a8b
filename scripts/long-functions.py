#!/usr/bin/env python3
"""Lists the functions of a source folder longer than 80 lines (test modules excluded), the
longest first. Usage: scripts/long-functions.py crates/kencho/src"""
import os,re,sys
root=sys.argv[1]
out=[]
for d,_,fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p=os.path.join(d,f); lines=open(p).read().split('\n')
        # cut test module
        for i,l in enumerate(lines):
            if re.match(r'^#\[cfg\(test\)\]',l): lines=lines[:i]; break
        i=0
        while i<len(lines):
            m=re.match(r'^(\s*)(pub(\([^)]*\))? )?(async )?fn (\w+)',lines[i])
            if m:
                ind=len(m.group(1)); j=i
                # find opening brace line end
                while j<len(lines) and not lines[j].rstrip().endswith('{') and not lines[j].rstrip().endswith(';'): j+=1
                if j<len(lines) and lines[j].rstrip().endswith(';'): i=j+1; continue
                k=j+1
                while k<len(lines) and not (lines[k].startswith(' '*ind+'}') and len(lines[k].rstrip())==ind+1): k+=1
                n=k-i+1
                if n>80: out.append((n,p,m.group(5)))
                i=k+1; continue
            i+=1
for n,p,name in sorted(out,reverse=True): print(n,p,name)
