-- tests/realworld: one line per step; at step 20 the script calls
-- os.getenv, where the test stops the interpreter and patches it.
local total = 0
local names = {}
for i = 1, 40 do
  total = total + i * i
  names[#names + 1] = string.format("n%02d", i)
  local ok, err = pcall(function() return i + nil end)
  print(i, total, i / 7, #names, names[#names], err)
  if i == 20 then os.getenv("HOTFIX_CHECKPOINT") end
end
