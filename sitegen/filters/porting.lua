-- Runs before article.lua: what an article written for Quarto brings with it.
--   ::: {.callout-note title="..."}   -> <div class="callout callout-note" role="note" aria-label="...">
--   {#fig-x}, {#tbl-x}, {#eq-x}, @fig-x -> the article's own fig:x, tbl:x, eq:x (numbered the same way);
--   a heading's {#sec-x} -> its id x, which @sec-x and @sec:x name;
--   ::: {#fig-x layout-ncol=2} -> the figure div fig:x, its sub-figures checked (article.lua lays them out)
-- and what would otherwise vanish without a word becomes a mark that
-- sitegen.render.porting turns into a file:line error:
--   an image labelled {#fig:x} inside a sentence (it would be an inline <img>, unnumbered),
--   a width or height that is no length (pandoc drops it).

local CALLOUTS = { note = "Note", tip = "Tip", warning = "Warning", important = "Important", caution = "Caution" }
local KINDS = { fig = true, tbl = true, eq = true, sec = true }

local function quarto_label(id)
  -- fig-name -> fig:name; anything else as it was
  local kind, rest = id:match("^(%a+)%-(.+)$")
  if kind and KINDS[kind] then return kind .. ":" .. rest end
  return id
end

local function escape(text)
  return (text:gsub("&", "&amp;"):gsub('"', "&quot;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function author_error(what, find)
  -- read by sitegen.render.porting: the message, and the text to find the line by
  return '<span class="author-error" data-what="' .. escape(what) .. '" data-find="' .. escape(find) .. '"></span>'
end

local LENGTH = "^%d+%.?%d*[%%a-z]*$"
local UNITS = { [""] = true, px = true, ["%"] = true, em = true, rem = true, cm = true, mm = true, ["in"] = true }

local function bad_length(value)
  if not value:match(LENGTH) then return true end
  return not UNITS[value:match("[%%a-z]*$")]
end

-- Whether the first pass met an image labelled as a figure: the second looks for misplaced
-- ones only then (walking every paragraph's words costs a chapter a third of its pandoc time)
local fig_images = false

function Image(img)
  img.identifier = quarto_label(img.identifier)
  if img.identifier:match("^fig:") then fig_images = true end
  for _, key in ipairs({ "width", "height" }) do
    local v = img.attributes[key]
    if v and bad_length(v) then
      return pandoc.RawInline("html", author_error(
        "image " .. key .. " " .. v .. " is not a length; write a number with px, %, em, rem, cm, mm or in, "
        .. "such as " .. key .. "=60%", key .. "=" .. v))
    end
  end
  return img
end

-- Each handler returns nothing where it changes nothing: pandoc then keeps its own element
-- instead of reading the filter's copy back.
function Cite(el)
  local changed = false
  for _, c in ipairs(el.citations) do
    local id = quarto_label(c.id)
    if id ~= c.id then c.id, changed = id, true end
  end
  if changed then return el end
end

function Table(el)
  local id = quarto_label(el.identifier)
  if id ~= el.identifier then
    el.identifier = id
    return el
  end
end

function Str(el)
  -- $$ ... $$ {#eq-name}: the label is a word of its own after the math
  local label = el.text:match("^{#(eq%-[%w_%-%.]+)}$")
  if label then return pandoc.Str("{#" .. quarto_label(label) .. "}") end
end

-- An image labelled as a figure must be its paragraph's only content; anywhere else it
-- would be an inline picture without number, caption or dark variant.
local function misplaced(inlines, alone)
  if alone or not fig_images then return nil end
  return inlines:walk({
    Image = function(img)
      local label = img.identifier:match("^fig:(.+)$")
      if label then
        return pandoc.RawInline("html", author_error(
          "figure image {#fig:" .. label .. "} must be a paragraph of its own: leave a blank line before and "
          .. "after it (two figures are two paragraphs)", "#fig:" .. label))
      end
    end,
  })
end

local function is_figure_paragraph(el)
  return #el.content == 1 and el.content[1].t == "Image" and el.content[1].identifier:match("^fig:") ~= nil
end

function Para(el)
  if not fig_images then return nil end
  local content = misplaced(el.content, is_figure_paragraph(el))
  if content then
    el.content = content
    return el
  end
end

function Plain(el)
  local content = misplaced(el.content, false)
  if content then
    el.content = content
    return el
  end
end

function Header(el)
  -- Quarto's {#sec-intro} is the heading's id "intro", so that @sec-intro (sec:intro) finds it
  local id, content = el.identifier:gsub("^sec%-(.)", "%1"), misplaced(el.content, false)
  if id == el.identifier and not content then return nil end
  el.identifier, el.content = id, content or el.content
  return el
end

-- A figure div, ::: {#fig:name layout-ncol=2}: its sub-figures, each image a paragraph of its
-- own, then its caption, one paragraph (article.lua lays them out); anything else in it would be
-- lost, and one image is a figure of its own.
local function figure_div(el, label)
  local images = 0
  local function refuse(what)
    return pandoc.RawBlock("html", author_error("figure div {#fig:" .. label .. "} " .. what, "#fig:" .. label))
  end
  for i, block in ipairs(el.content) do
    local inlines = (block.t == "Para" or block.t == "Plain") and block.content or nil
    local pictures = 0
    if inlines then
      for _, x in ipairs(inlines) do if x.t == "Image" then pictures = pictures + 1 end end
    end
    if pictures == 1 and #inlines == 1 then
      images = images + 1
    elseif not (inlines and pictures == 0 and i == #el.content and images > 0) then
      return refuse("holds its sub-figures, each image a paragraph of its own (a blank line between "
                    .. "them), and then its caption, one paragraph; move anything else out of it")
    end
  end
  if images < 2 then
    return refuse("needs two or more sub-figures; one image is a figure of its own, "
                  .. '![caption](file){#fig:' .. label .. ' alt="..."}')
  end
  return el
end

-- A callout: its title from title="...", else from a heading that opens it, else its kind.
function Div(el)
  local id = quarto_label(el.identifier)
  local changed = id ~= el.identifier
  el.identifier = id
  local figure = el.identifier:match("^fig:(.+)$")
  if figure then return figure_div(el, figure) end
  local kind = nil
  for _, c in ipairs(el.classes) do kind = kind or c:match("^callout%-(%a+)$") end
  if not kind or not CALLOUTS[kind] then return changed and el or nil end
  local content = el.content
  local title = el.attributes.title and pandoc.Inlines(pandoc.read(el.attributes.title, "markdown").blocks[1].content)
  if not title and content[1] and content[1].t == "Header" then
    title = content[1].content
    content = pandoc.Blocks({ table.unpack(content, 2) })
  end
  local label = title and (CALLOUTS[kind] .. ": " .. pandoc.utils.stringify(title)) or CALLOUTS[kind]
  title = title or pandoc.Inlines({ pandoc.Str(CALLOUTS[kind]) })
  local head = pandoc.Div({ pandoc.Plain(title) }, pandoc.Attr("", { "callout-title" }))
  local attrs = { { "role", "note" }, { "aria-label", label } }  -- a list: a table's keys have no order
  return pandoc.Div({ head, pandoc.Div(content, pandoc.Attr("", { "callout-body" })) },
                    pandoc.Attr(el.identifier, { "callout", "callout-" .. kind }, attrs))
end

return {
  { Str = Str, Image = Image, Cite = Cite },
  { Para = Para, Plain = Plain, Header = Header, Table = Table },
  { Div = Div },
}
